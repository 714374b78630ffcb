"""Behavioural checks of a metric: streaming state, reset, weights, variables, graphs."""

from __future__ import annotations

from typing import Any

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
from kreg.kerasext.backend import (
    NotApplicable,
    compiled_check_name,
    compiled_metric_steps,
    compiled_name,
)

NOT_STREAMING = "not-streaming"
"""Tag of metrics whose result over two batches legitimately differs from one batch."""
EAGER_ONLY = "eager-only"
"""Tag of metrics whose ``update_state`` runs only eagerly (NumPy, Python loops)."""


def check_metric(subject: Subject, report: Report) -> None:
    """Run every behavioural metric check on ``subject`` into ``report``."""
    y_true, y_pred = subject.example.y_true, subject.example.y_pred
    batch = batch_size(y_pred)
    half = batch // 2
    first, second = (
        (samples(y_true, 0, half), samples(y_pred, 0, half)),
        (
            samples(y_true, half),
            samples(y_pred, half),
        ),
    )

    def measured(metric: Any, *batches: tuple[Any, ...]) -> Any:
        """The result after these updates, copied (a result may be a live state variable)."""
        for arguments in batches:
            metric.update_state(*arguments)
        return snapshot(metric.result())

    def value(metric: Any) -> Any:
        return measured(metric, (y_true, y_pred))

    def update_and_result() -> str:
        result = measured(subject.make(), (y_true, y_pred))
        if not np.isfinite(to_numpy(result)).all():
            raise CheckFailed(
                f"result() after one update is {shown(result)}; it must be finite "
                "(use ops.divide_no_nan for ratios)"
            )
        return f"result {shown(result)}"

    def reset() -> str:
        try:
            initial = snapshot(subject.make().result())
        except Exception:  # variables made on the first update (built lazily)
            initial = None
        metric = subject.make()
        updated = measured(metric, (y_true, y_pred))
        metric.reset_state()
        after = snapshot(metric.result())
        if initial is not None and close(updated, initial):
            raise CheckSkipped(
                f"inconclusive: one update leaves the result at its initial value "
                f"{shown(initial)}, so a reset cannot be told from no reset; give an example "
                "(example=) on which the metric moves"
            )
        if initial is not None and not close(initial, after):
            raise CheckFailed(
                f"after reset_state() result() is {shown(after)}, but a fresh metric gives "
                f"{shown(initial)}; reset_state must reset every state variable"
            )
        again = measured(metric, (y_true, y_pred))
        if not close(again, measured(subject.make(), (y_true, y_pred))):
            raise CheckFailed(
                "after reset_state() an update gives a different result than on a fresh "
                "metric; reset_state must bring every variable back to its initial value"
            )
        return f"back to the initial result {shown(after)} (it was {shown(updated)})"

    def streaming() -> str:
        if NOT_STREAMING in subject.tags:
            raise CheckSkipped(f"tagged {NOT_STREAMING!r} by its provider")
        two = measured(subject.make(), first, second)
        one = measured(subject.make(), (y_true, y_pred))
        if not close(two, one, rtol=1e-3, atol=1e-4):
            last = measured(subject.make(), second)
            overwrite = " (it kept only the last batch)" if close(two, last) else ""
            raise CheckFailed(
                f"updates with samples [0:{half}] then [{half}:{batch}] give {shown(two)}, one "
                f"update with all {batch} gives {shown(one)}{overwrite}; update_state must "
                "accumulate (assign_add) into its variables, not overwrite them (assign). If "
                f"the metric is inherently per-batch, register it with tags=[{NOT_STREAMING!r}]"
            )
        return "two updates equal one update on the concatenated batch"

    def sample_weight() -> str:
        given = subject.example.sample_weight
        weights = np.ones(batch, "float32") if given is None else np.ones_like(given, "float32")
        weights[0] = 0.0
        rest = (samples(y_true, 1), samples(y_pred, 1))
        try:
            dropped = measured(subject.make(), (*rest, weights[1:]))
        except Exception as error:
            raise CheckFailed(
                f"update_state(y_true, y_pred, sample_weight=w) with w of shape "
                f"{weights[1:].shape} raised {describe(error)}; fit(..., sample_weight=...) and "
                f"weighted_metrics pass one weight per sample (shape (batch,)): accept them, "
                f"or document the shape you need and give such weights in the example "
                f"(sample_weight=)"
            ) from error
        plain = measured(subject.make(), (y_true, y_pred, np.ones_like(weights)))
        if close(plain, dropped, rtol=1e-3, atol=1e-4):
            raise CheckSkipped(
                f"inconclusive: leaving sample 0 out does not change the result "
                f"({shown(plain)}) on the example data, so its weight cannot be seen; give an "
                "example (example=) whose samples give different values"
            )
        weighted = measured(subject.make(), (y_true, y_pred, weights))
        if not close(weighted, dropped, rtol=1e-3, atol=1e-4):
            ignored = " (sample_weight was ignored)" if close(weighted, plain) else ""
            raise CheckFailed(
                f"with sample 0's weight 0 the result is {shown(weighted)}, but leaving "
                f"sample 0 out gives {shown(dropped)}{ignored}; multiply each sample's "
                "contribution (and its count) by sample_weight before accumulating"
            )
        return "weight 0 equals leaving the sample out"

    def one_column() -> bool:
        """Whether labels and predictions are one array each, shaped ``(batch, 1)``."""
        labels, predictions = leaves(y_true), leaves(y_pred)
        shapes = {tuple(getattr(a, "shape", ())) for a in (*labels, *predictions)}
        return len(labels) == len(predictions) == 1 and shapes == {(batch, 1)}

    def label_rank() -> str:
        column = measured(subject.make(), (y_true, y_pred))
        flat = measured(subject.make(), (np.asarray(leaves(y_true)[0])[:, 0], y_pred))
        if not close(flat, column, rtol=1e-3, atol=1e-4):
            raise CheckFailed(
                f"labels of shape ({batch},) with predictions of shape ({batch}, 1), which is "
                f"what fit() passes for 1-D targets and a Dense(1) output, give {shown(flat)}; "
                f"labels of shape ({batch}, 1) give {shown(column)}. update_state must bring "
                "y_true to y_pred's rank (ops.expand_dims) before comparing them; otherwise "
                "they broadcast to batch x batch pairs"
            )
        return f"labels of shape ({batch},) and ({batch}, 1) give the same result"

    def variables() -> str:
        metric = subject.make()
        measured(metric, (y_true, y_pred))
        state = list(metric.variables)
        if not state:
            raise CheckFailed(
                "the metric has no state variables; keep its state in variables made with "
                "self.add_variable(...) so it streams across batches and works when fit() "
                "compiles it"
            )
        trainable = [v.name for v in state if getattr(v, "trainable", False)]
        if trainable:
            raise CheckFailed(
                f"state variables {trainable} are trainable, so an optimizer would update "
                "them; create them with self.add_variable(...) (non-trainable by default)"
            )
        return f"{len(state)} non-trainable state variables"

    def graph() -> str:
        metric = subject.make()
        try:
            step = compiled_metric_steps(metric)
        except NotApplicable as reason:
            raise CheckSkipped(f"not applicable: {reason}") from None

        eager_only = EAGER_ONLY in subject.tags
        try:
            step(*map(as_tensors, first))
            got = snapshot(step(*map(as_tensors, second)))
        except Exception as error:
            if eager_only:
                raise CheckWarning(
                    f"eager only, as tagged {EAGER_ONLY!r} ({error!s:.120}): compile the "
                    "model with run_eagerly=True to use it in fit()"
                ) from error
            raise CheckFailed(
                f"update_state/result failed inside {compiled_name()}: {error!s:.200}; fit() and "
                "evaluate() trace metrics into a graph: use tensor operations and variables. "
                f"If it can only run eagerly, tag it {EAGER_ONLY!r} (fit() then needs "
                "run_eagerly=True)"
            ) from error
        eager = measured(subject.make(), first, second)
        if not close(got, eager, rtol=1e-3, atol=1e-4):
            raise CheckFailed(f"traced result {shown(got)} differs from eager {shown(eager)}")
        if eager_only:
            raise CheckWarning(
                f"tagged {EAGER_ONLY!r}, but it works inside {compiled_name()}: drop the tag, so "
                "that fit() need not run eagerly"
            )
        return "traced updates equal eager ones"

    run_check(report, "update_and_result", update_and_result)
    run_check(report, "reset_state", reset)
    run_check(report, "streaming", streaming)
    run_check(report, "sample_weight", sample_weight)
    if one_column():  # what fit() does with 1-D targets concerns one-column outputs only
        run_check(report, "label_rank", label_rank)
    run_check(report, "state_variables", variables)
    run_check(report, compiled_check_name(), graph)
    run_check(report, "config_roundtrip", lambda: check_config_roundtrip(subject, value))
    run_check(report, "serialization", lambda: check_serialization(subject, value))


def snapshot(result: Any) -> Any:
    """A copy of a result's values now (a dict stays a dict), as NumPy arrays.

    Example:
        >>> snapshot({"f1": 0.5})
        {'f1': array(0.5)}
    """
    if isinstance(result, dict):
        return {key: snapshot(value) for key, value in result.items()}
    return np.array(to_numpy(result))
