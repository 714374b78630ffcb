"""Metrics: Matthews correlation coefficient and Cohen's kappa, both streaming and weighted."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

_WEIGHTINGS = (None, "linear", "quadratic")


def _per_element_weights(sample_weight: Any, like: Any) -> Any:
    """Sample weights of shape (batch,) broadcast to ``like`` (batch, ...)."""
    if sample_weight is None:
        return ops.ones_like(like)
    weights = ops.cast(sample_weight, like.dtype)
    while len(weights.shape) < len(like.shape):
        weights = ops.expand_dims(weights, -1)
    return ops.broadcast_to(weights, ops.shape(like))


@keras.saving.register_keras_serializable(package="kreg_contrib")
class MatthewsCorrelation(keras.metrics.Metric):
    """Matthews correlation coefficient of binary (or multi-label, pooled) predictions.

    Predictions at or above ``threshold`` count as positive. From the weighted
    counts accumulated over all batches::

        MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))

    It lies in [-1, 1], is 0 for chance, and (unlike accuracy or F1) stays
    informative when classes are very imbalanced; 0 when a factor is empty.

    Reference: B. W. Matthews, "Comparison of the predicted and observed
    secondary structure of T4 phage lysozyme", Biochim. Biophys. Acta 405, 1975;
    D. Chicco and G. Jurman, BMC Genomics 21:6, 2020.

    Example:
        >>> metric = MatthewsCorrelation()
        >>> metric.update_state([[1], [0], [1], [0]], [[0.9], [0.2], [0.4], [0.1]])
        >>> round(float(metric.result()), 3)
        0.577
    """

    def __init__(
        self, threshold: float = 0.5, name: str = "matthews_correlation", dtype: Any = None
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.counts = {
            key: self.add_variable(shape=(), initializer="zeros", name=key)
            for key in ("true_positives", "true_negatives", "false_positives", "false_negatives")
        }

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the batch's weighted confusion counts."""
        y_pred = ops.cast(ops.convert_to_tensor(y_pred) >= self.threshold, self.dtype)
        y_true = ops.cast(ops.reshape(ops.convert_to_tensor(y_true), ops.shape(y_pred)), self.dtype)
        weights = _per_element_weights(sample_weight, y_pred)
        for key, value in (
            ("true_positives", y_true * y_pred),
            ("true_negatives", (1 - y_true) * (1 - y_pred)),
            ("false_positives", (1 - y_true) * y_pred),
            ("false_negatives", y_true * (1 - y_pred)),
        ):
            self.counts[key].assign_add(ops.sum(value * weights))

    def result(self) -> Any:
        """The coefficient over everything seen since the last reset."""
        tp, tn, fp, fn = (
            self.counts[key]
            for key in ("true_positives", "true_negatives", "false_positives", "false_negatives")
        )
        numerator = tp * tn - fp * fn
        denominator = ops.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return ops.divide_no_nan(numerator, denominator)

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument."""
        return {**super().get_config(), "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="kreg_contrib")
class CohenKappa(keras.metrics.Metric):
    """Cohen's kappa: agreement between labels and predicted classes beyond chance.

    From the weighted confusion matrix O (normalised) and the matrix E expected
    from its marginals under independence, with disagreement weights W::

        kappa = 1 − Σ W∘O / Σ W∘E

    ``weightage=None`` counts every disagreement alike (W = 1 − I);
    ``"linear"`` and ``"quadratic"`` weight by |i − j| and (i − j)² for
    ordinal classes (quadratic kappa is the usual "QWK" of grading tasks).
    Labels may be sparse class ids or one-hot; predictions are class scores
    (arg-maxed), one sigmoid probability when ``num_classes=2``, or class ids.

    Reference: J. Cohen, "A coefficient of agreement for nominal scales",
    Educational and Psychological Measurement 20(1), 1960; weighted: J. Cohen,
    Psychological Bulletin 70(4), 1968.

    Example:
        >>> metric = CohenKappa(num_classes=2)
        >>> metric.update_state([0, 1, 1, 0], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
        >>> round(float(metric.result()), 3)
        0.5
    """

    def __init__(
        self,
        num_classes: int,
        weightage: str | None = None,
        name: str = "cohen_kappa",
        dtype: Any = None,
    ) -> None:
        if weightage not in _WEIGHTINGS:
            raise ValueError(
                f"weightage must be one of {_WEIGHTINGS}. Received: weightage={weightage!r}"
            )
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2. Received: num_classes={num_classes}")
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.weightage = weightage
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes), initializer="zeros", name="confusion"
        )

    def _class_ids(self, values: Any) -> Any:
        values = ops.convert_to_tensor(values)
        scores = "float" in str(values.dtype) and len(values.shape) >= 2
        if scores and values.shape[-1] == self.num_classes:
            values = ops.argmax(values, axis=-1)
        elif scores and values.shape[-1] == 1 and self.num_classes == 2:
            values = values >= 0.5  # one sigmoid output: probability of class 1
        return ops.reshape(ops.cast(values, "int32"), (-1,))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the batch to the weighted confusion matrix."""
        true = ops.one_hot(self._class_ids(y_true), self.num_classes, dtype=self.dtype)
        pred = ops.one_hot(self._class_ids(y_pred), self.num_classes, dtype=self.dtype)
        if sample_weight is not None:
            true = true * ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
        self.confusion.assign_add(ops.matmul(ops.transpose(true), pred))

    def result(self) -> Any:
        """Kappa over everything seen since the last reset (0 before any update)."""
        total = ops.sum(self.confusion)
        observed = ops.divide_no_nan(self.confusion, total)
        expected = ops.outer(ops.sum(observed, axis=1), ops.sum(observed, axis=0))
        index = ops.arange(self.num_classes, dtype=self.dtype)
        distance = ops.abs(ops.expand_dims(index, 1) - ops.expand_dims(index, 0))
        if self.weightage == "linear":
            weights = distance / (self.num_classes - 1)
        elif self.weightage == "quadratic":
            weights = ops.square(distance / (self.num_classes - 1))
        else:
            weights = ops.cast(distance > 0, self.dtype)
        kappa = 1.0 - ops.divide_no_nan(ops.sum(weights * observed), ops.sum(weights * expected))
        return ops.where(total > 0, kappa, ops.zeros_like(kappa))

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument."""
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "weightage": self.weightage,
        }
