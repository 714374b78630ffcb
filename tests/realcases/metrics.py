"""Metrics that reproduce the survey's cases (each names the real library it stands for)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

_SUMMARY = """{what} of binary predictions over every batch seen, as a dict of two values.

Keeps true/false positive and false negative counts (as keras-hub's `RougeL` returns a dict).
"""


class PrecisionRecall(keras.metrics.Metric):
    """Replaced below by a summary built from a template, as keras-rs writes its docs."""

    def __init__(self, threshold: float = 0.5, name: str = "precision_recall", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.counts = self.add_variable((3,), initializer="zeros", name="counts")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        predicted = ops.cast(y_pred > self.threshold, "float32")
        actual = ops.cast(y_true, "float32")
        weight = 1.0 if sample_weight is None else ops.reshape(sample_weight, (-1, 1))
        hits = ops.stack(
            [
                ops.sum(weight * predicted * actual),
                ops.sum(weight * predicted * (1 - actual)),
                ops.sum(weight * (1 - predicted) * actual),
            ]
        )
        self.counts.assign_add(hits)

    def result(self) -> dict[str, Any]:
        true_pos, false_pos, false_neg = self.counts[0], self.counts[1], self.counts[2]
        return {
            "precision": ops.divide_no_nan(true_pos, true_pos + false_pos),
            "recall": ops.divide_no_nan(true_pos, true_pos + false_neg),
        }

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


PrecisionRecall.__doc__ = _SUMMARY.format(what="Precision and recall")


class LiveTotal(keras.metrics.Metric):
    """Sum of absolute errors; ``result()`` is the live variable and reset does nothing."""

    def __init__(self, name: str = "live_total", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable((), initializer="zeros", name="total")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        errors = ops.sum(ops.abs(y_true - y_pred), axis=-1)
        if sample_weight is not None:
            errors = errors * sample_weight
        self.total.assign_add(ops.sum(errors))

    def result(self) -> Any:
        return self.total

    def reset_state(self) -> None:
        pass  # the bug: the total carries over into the next epoch or evaluate()


class UnweightedMeanError(keras.metrics.Metric):
    """Mean absolute error that ignores ``sample_weight`` (as keras-hub's ``EditDistance``)."""

    def __init__(self, name: str = "unweighted_mean_error", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable((), initializer="zeros", name="total")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        errors = ops.mean(ops.abs(y_true - y_pred), axis=-1)
        self.total.assign_add(ops.sum(errors))
        self.count.assign_add(ops.cast(ops.shape(errors)[0], "float32"))

    def result(self) -> Any:
        return ops.divide_no_nan(self.total, self.count)


class NumpyMedianError(keras.metrics.Metric):
    """Median absolute error computed with NumPy: runs eagerly only (keras-hub's BLEU)."""

    def __init__(self, name: str = "numpy_median_error", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable((), initializer="zeros", name="total")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        errors = np.abs(ops.convert_to_numpy(y_true) - ops.convert_to_numpy(y_pred))
        weights = np.ones(len(errors)) if sample_weight is None else sample_weight
        medians = np.median(errors.reshape(len(errors), -1), axis=-1)
        self.total.assign_add(float(np.sum(medians * ops.convert_to_numpy(weights))))
        self.count.assign_add(float(np.sum(ops.convert_to_numpy(weights))))

    def result(self) -> Any:
        return ops.divide_no_nan(self.total, self.count)


class GraphSafeMeanError(UnweightedMeanError):
    """Mean absolute error with weights, in tensor operations: it needs no eager mode."""

    def __init__(self, name: str = "graph_safe_mean_error", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        errors = ops.mean(ops.abs(y_true - y_pred), axis=-1)
        weights = ops.ones_like(errors) if sample_weight is None else sample_weight
        self.total.assign_add(ops.sum(errors * weights))
        self.count.assign_add(ops.sum(weights))


class TokenOverlap(keras.metrics.Metric):
    """Share of token ids that match, for ragged sequences of token ids (keras-hub's metrics)."""

    def __init__(self, name: str = "token_overlap", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.matches = self.add_variable((), initializer="zeros", name="matches")
        self.count = self.add_variable((), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        import tensorflow as tf

        same = tf.cast(tf.equal(y_true, y_pred), "float32")  # ragged, same row lengths
        per_row = tf.reduce_mean(same, axis=1)
        weights = tf.ones_like(per_row) if sample_weight is None else sample_weight
        self.matches.assign_add(tf.reduce_sum(per_row * tf.cast(weights, "float32")))
        self.count.assign_add(tf.reduce_sum(tf.cast(weights, "float32")))

    def result(self) -> Any:
        return ops.divide_no_nan(self.matches, self.count)
