"""Behavioural checks of a loss: per-sample values, reductions, weights, gradients, graphs."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kreg.contracts.batches import as_tensors, batch_size, leaves, samples
from kreg.contracts.common import (
    CheckFailed,
    CheckSkipped,
    CheckWarning,
    close,
    describe,
    run_check,
    shown,
    to_numpy,
)
from kreg.contracts.report import Report
from kreg.contracts.roundtrip import check_config_roundtrip, check_serialization
from kreg.contracts.subject import Subject
from kreg.contracts.weights import loss_weights
from kreg.kerasext.backend import (
    NotApplicable,
    compiled,
    compiled_check_name,
    compiled_name,
    to_tensor,
    value_and_gradients,
)

BATCH_DEPENDENT = "batch-dependent"
"""Tag of losses whose per-sample values depend on the other samples (pairwise losses)."""
PER_BATCH = "per-batch"
"""Tag of losses that return one value per batch by design (contrastive, triplet)."""


def _with_reduction(subject: Subject, reduction: str) -> Any:
    try:
        return subject.make(reduction=reduction)
    except Exception as error:
        raise CheckFailed(
            f"cannot be built with reduction={reduction!r} ({describe(error)}); accept "
            "reduction= (and name=, dtype=) in __init__ and pass them to super().__init__"
        ) from error


def check_loss(subject: Subject, report: Report) -> None:
    """Run every behavioural loss check on ``subject`` into ``report``."""
    y_true, y_pred = subject.example.y_true, subject.example.y_pred
    batch = batch_size(y_pred)

    def value(loss: Any) -> Any:
        return loss(y_true, y_pred)

    def per_sample() -> str:
        values = _with_reduction(subject, "none")(y_true, y_pred)
        shape = tuple(values.shape)
        if not shape or shape[0] != batch:
            raise CheckFailed(
                f"call() returned shape {shape} for a batch of {batch} with reduction='none'; "
                "return one loss per sample (leading axis = batch), e.g. reduce over the last "
                "axis only: ops.mean(ops.square(y_pred - y_true), axis=-1). If one value per "
                f"batch is the design, register it with tags=[{PER_BATCH!r}]"
            )
        if not np.all(np.isfinite(to_numpy(values))):
            raise CheckFailed(f"reduction='none' gave non-finite values {shown(values)}")
        return f"shape {shape} for a batch of {batch}"

    def reductions() -> str:
        values = to_numpy(_with_reduction(subject, "none")(y_true, y_pred))
        expected = {"sum": values.sum(), "sum_over_batch_size": values.mean()}
        for reduction, wanted in expected.items():
            got = _with_reduction(subject, reduction)(y_true, y_pred)
            if tuple(got.shape) != ():
                raise CheckFailed(
                    f"reduction={reduction!r} returned shape {tuple(got.shape)}, expected a "
                    "scalar; leave reducing to the Loss base class (do not override __call__)"
                )
            if not close(got, wanted):
                raise CheckFailed(
                    f"reduction={reduction!r} gave {shown(got)}, but the per-sample values "
                    f"reduce to {wanted:.6g}; let Loss.__call__ apply the reduction"
                )
        return "scalars for 'sum' and 'sum_over_batch_size', consistent with 'none'"

    def sample_weight() -> str:
        loss = _with_reduction(subject, "sum")
        per = _with_reduction(subject, "none")(y_true, y_pred)
        weights, how = loss_weights(
            subject.example,
            tuple(per.shape),
            y_pred,
            lambda trial: loss(y_true, y_pred, sample_weight=trial),
        )
        first_dropped = np.array(weights, "float32")
        first_dropped[0] = 0.0
        weighted = loss(y_true, y_pred, sample_weight=first_dropped)
        full = loss(y_true, y_pred, sample_weight=weights)
        if BATCH_DEPENDENT in subject.tags:
            wanted = to_numpy(per)[1:] * np.broadcast_to(weights, tuple(per.shape))[1:]
            wanted, what = wanted.sum(), "the weighted sum of the other samples' losses"
        else:
            rest = samples(y_true, 1), samples(y_pred, 1)
            wanted, what = loss(*rest, sample_weight=weights[1:]), "the loss without sample 0"
        if close(full, wanted):
            raise CheckSkipped(
                "inconclusive: sample 0's loss is 0 on the example data, so dropping it changes "
                "nothing; give an example (example=) whose samples have different losses"
            )
        if not close(weighted, wanted):
            ignored = " (sample_weight was ignored)" if close(weighted, full) else ""
            hint = (
                ""
                if BATCH_DEPENDENT in subject.tags
                else f". If each sample's loss depends on the rest of the batch (contrastive "
                f"losses), register it with tags=[{BATCH_DEPENDENT!r}]"
            )
            raise CheckFailed(
                f"with sample_weight {how} and sample 0's weight 0, reduction='sum' gives "
                f"{shown(weighted)}, but {what} is {shown(wanted)}{ignored}; return "
                f"per-sample values from call() and let Loss.__call__ apply sample_weight{hint}"
            )
        doubled = loss(y_true, y_pred, sample_weight=2 * np.asarray(weights, "float32"))
        if not close(doubled, 2 * to_numpy(full)):
            raise CheckFailed(
                f"doubling every weight gave {shown(doubled)}, not twice {shown(full)}; sample "
                "weights must scale each sample's loss"
            )
        if BATCH_DEPENDENT in subject.tags:
            return f"weights scale each sample's loss; weight 2 doubles it (weights {how})"
        return f"weight 0 drops a sample; weight 2 doubles the loss (weights {how})"

    def gradient() -> str:
        predictions = as_tensors(y_pred)
        loss = subject.make()

        def value_of(leaves_now: list[Any]) -> Any:
            rebuilt = keras.tree.pack_sequence_as(predictions, leaves_now)
            return loss(as_tensors(y_true), rebuilt)

        result, gradients = value_and_gradients(value_of, leaves(predictions))
        if not np.isfinite(to_numpy(result)).all():
            raise CheckFailed(f"the loss is not finite ({shown(result)}) on the example batch")
        if all(g is None for g in gradients):
            raise CheckFailed(
                "no gradient reaches y_pred: call() leaves the autodiff graph (.numpy(), "
                "NumPy functions, casting y_pred to an integer, stop_gradient); compute it "
                "with keras.ops only"
            )
        flat = np.concatenate([to_numpy(g).ravel() for g in gradients if g is not None])
        if not np.isfinite(flat).all():
            raise CheckFailed("the gradient with respect to y_pred has NaN or inf values")
        if not np.any(flat):
            raise CheckFailed(
                "the gradient with respect to y_pred is zero everywhere on the example batch: "
                "the model could not learn from this loss (rounding, argmax, or comparisons)"
            )
        return f"loss {float(to_numpy(result).sum()):.4g}, finite non-zero gradient"

    def graph(jit: bool) -> Any:
        def check() -> str:
            loss = subject.make()
            eager = loss(y_true, y_pred)
            try:
                traced = compiled(lambda a, b: loss(a, b), xla=jit)
            except NotApplicable as reason:
                raise CheckSkipped(f"not applicable: {reason}") from None
            try:
                got = traced(as_tensors(y_true), as_tensors(y_pred))
            except Exception as error:
                where = "with jit_compile=True (XLA)" if jit else f"inside {compiled_name()}"
                raise CheckFailed(
                    f"call() failed {where}: {describe(error)}; fit() traces the loss into a "
                    "graph: avoid .numpy(), Python conditions on tensor values and NumPy calls"
                ) from error
            if not close(eager, got, rtol=1e-3, atol=1e-4):
                raise CheckFailed(f"traced value {shown(got)} differs from eager {shown(eager)}")
            return f"traced value equals eager ({float(to_numpy(got).sum()):.4g})"

        return check

    def mixed_precision() -> str:
        previous = keras.mixed_precision.global_policy()
        try:
            keras.mixed_precision.set_global_policy("mixed_float16")
            loss = subject.make()
            got = loss(y_true, keras.tree.map_structure(_half, y_pred))
        finally:
            keras.mixed_precision.set_global_policy(previous)
        if not np.isfinite(to_numpy(got)).all():
            raise CheckWarning(
                f"under the mixed_float16 policy the loss is {shown(got)}; compute in float32 "
                "(ops.cast(y_pred, 'float32')) or guard divisions and logarithms"
            )
        dtype = keras.backend.standardize_dtype(got.dtype) if hasattr(got, "dtype") else ""
        return f"finite under mixed_float16 ({dtype})"

    if PER_BATCH in subject.tags:
        reason = f"tagged {PER_BATCH!r} by its provider: one loss value per batch by design"
        for name in ("per_sample", "reductions", "sample_weight"):
            run_check(report, name, _skip(reason))
    elif not run_check(report, "per_sample", per_sample):
        for name in ("reductions", "sample_weight"):
            run_check(report, name, _skip("per_sample failed"))
    else:
        run_check(report, "reductions", reductions)
        run_check(report, "sample_weight", sample_weight)
    run_check(report, "gradient", gradient)
    run_check(report, compiled_check_name(), graph(False))
    run_check(report, "jit_compile", graph(True), warn_only=True)
    run_check(report, "config_roundtrip", lambda: check_config_roundtrip(subject, value))
    run_check(report, "serialization", lambda: check_serialization(subject, value))
    run_check(report, "mixed_precision", mixed_precision, warn_only=True)


def _half(leaf: Any) -> Any:
    """A floating array or tensor as float16 (others unchanged), as mixed_float16 outputs are."""
    dtype = str(getattr(leaf, "dtype", ""))
    if "float" not in dtype:
        return leaf
    if isinstance(leaf, np.ndarray) or np.isscalar(leaf):
        return np.asarray(leaf).astype("float16")
    flat = getattr(leaf, "flat_values", None)  # a RaggedTensor keeps its row structure
    if flat is not None:
        return leaf.with_flat_values(keras.ops.cast(flat, "float16"))
    return keras.ops.cast(to_tensor(leaf), "float16")


def _skip(reason: str) -> Any:
    def skipped() -> str:
        raise CheckSkipped(reason)

    return skipped
