"""Behavioural checks of a metric: streaming state, reset, weights, variables, graphs."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from kreg.contracts.common import CheckFailed, CheckSkipped, close, run_check, shown, to_numpy
from kreg.contracts.report import Report
from kreg.contracts.roundtrip import check_config_roundtrip, check_serialization
from kreg.contracts.subject import Subject

NOT_STREAMING = "not-streaming"
"""Tag of metrics whose result over two batches legitimately differs from one batch."""


def check_metric(subject: Subject, report: Report) -> None:
    """Run every behavioural metric check on ``subject`` into ``report``."""
    y_true, y_pred = subject.example.y_true, subject.example.y_pred
    batch = len(y_true)
    half = batch // 2

    def measured(metric: Any, *batches: tuple[Any, ...]) -> Any:
        for arguments in batches:
            metric.update_state(*arguments)
        return metric.result()

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
        metric = subject.make()
        try:
            initial = metric.result()
        except Exception:  # variables made on the first update (built lazily)
            initial = None
        measured(metric, (y_true, y_pred))
        metric.reset_state()
        after = metric.result()
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
        return f"back to the initial result {shown(after)}"

    def streaming() -> str:
        if NOT_STREAMING in subject.tags:
            raise CheckSkipped(f"tagged {NOT_STREAMING!r} by its provider")
        two = measured(
            subject.make(), (y_true[:half], y_pred[:half]), (y_true[half:], y_pred[half:])
        )
        one = measured(subject.make(), (y_true, y_pred))
        if not close(two, one, rtol=1e-3, atol=1e-4):
            last = measured(subject.make(), (y_true[half:], y_pred[half:]))
            overwrite = " (it kept only the last batch)" if close(two, last) else ""
            raise CheckFailed(
                f"updates with samples [0:{half}] then [{half}:{batch}] give {shown(two)}, one "
                f"update with all {batch} gives {shown(one)}{overwrite}; update_state must "
                "accumulate (assign_add) into its variables, not overwrite them (assign). If "
                f"the metric is inherently per-batch, register it with tags=[{NOT_STREAMING!r}]"
            )
        return "two updates equal one update on the concatenated batch"

    def sample_weight() -> str:
        weights = np.array([0.0] + [1.0] * (batch - 1), "float32")
        weighted = measured(subject.make(), (y_true, y_pred, weights))
        dropped = measured(subject.make(), (y_true[1:], y_pred[1:]))
        if not close(weighted, dropped, rtol=1e-3, atol=1e-4):
            plain = measured(subject.make(), (y_true, y_pred))
            ignored = " (sample_weight was ignored)" if close(weighted, plain) else ""
            raise CheckFailed(
                f"with sample_weight={weights.tolist()} the result is {shown(weighted)}, but "
                f"leaving sample 0 out gives {shown(dropped)}{ignored}; multiply each sample's "
                "contribution (and its count) by sample_weight before accumulating"
            )
        return "weight 0 equals leaving the sample out"

    def variables() -> str:
        metric = subject.make()
        measured(metric, (y_true, y_pred))
        state = list(metric.variables)
        if not state:
            raise CheckFailed(
                "the metric has no state variables; keep its state in variables made with "
                "self.add_variable(...) so it streams across batches and works in tf.function"
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

        @tf.function(autograph=False)  # as Keras calls metrics: Python `if` is not converted
        def step(a: Any, b: Any) -> Any:
            metric.update_state(a, b)
            return metric.result()

        try:
            step(tf.constant(y_true[:half]), tf.constant(y_pred[:half]))
            got = step(tf.constant(y_true[half:]), tf.constant(y_pred[half:]))
        except Exception as error:
            raise CheckFailed(
                f"update_state/result failed inside tf.function: {error!s:.200}; fit() and "
                "evaluate() trace metrics into a graph: use tensor operations and variables"
            ) from error
        eager = measured(
            subject.make(), (y_true[:half], y_pred[:half]), (y_true[half:], y_pred[half:])
        )
        if not close(got, eager, rtol=1e-3, atol=1e-4):
            raise CheckFailed(f"traced result {shown(got)} differs from eager {shown(eager)}")
        return "traced updates equal eager ones"

    run_check(report, "update_and_result", update_and_result)
    run_check(report, "reset_state", reset)
    run_check(report, "streaming", streaming)
    run_check(report, "sample_weight", sample_weight)
    run_check(report, "state_variables", variables)
    run_check(report, "tf_function", graph)
    run_check(report, "config_roundtrip", lambda: check_config_roundtrip(subject, value))
    run_check(report, "serialization", lambda: check_serialization(subject, value))
