"""Losses: focal Tversky (segmentation) and quantile / pinball (quantile regression)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kreg_contrib")
class FocalTversky(keras.losses.Loss):
    """Focal Tversky loss for imbalanced segmentation, one value per sample.

    With TP, FN, FP summed over each sample's non-batch axes::

        TI   = (TP + smooth) / (TP + alpha * FN + beta * FP + smooth)
        loss = (1 - TI) ** gamma

    ``alpha > beta`` penalises missed foreground more than false alarms;
    ``gamma < 1`` focuses training on hard, poorly segmented samples.

    Reference: N. Abraham and N. M. Khan, "A Novel Focal Tversky Loss Function
    with Improved Attention U-Net for Lesion Segmentation", ISBI 2019,
    arXiv:1810.07842. Tversky index: S. S. M. Salehi et al., 2017, arXiv:1706.05721.

    Example:
        >>> import numpy as np
        >>> y_true = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
        >>> y_pred = np.array([[0.9, 0.1, 0.8], [0.5, 0.5, 0.5]])
        >>> loss = FocalTversky(reduction=None)(y_true, y_pred)
        >>> [round(float(v), 3) for v in loss]
        [0.153, 0.404]
    """

    def __init__(
        self,
        alpha: float = 0.7,
        beta: float = 0.3,
        gamma: float = 0.75,
        smooth: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "focal_tversky",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.smooth = smooth

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """One focal Tversky loss per sample."""
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        axes = tuple(range(1, len(y_pred.shape)))
        true_pos = ops.sum(y_true * y_pred, axis=axes)
        false_neg = ops.sum(y_true * (1.0 - y_pred), axis=axes)
        false_pos = ops.sum((1.0 - y_true) * y_pred, axis=axes)
        index = (true_pos + self.smooth) / (
            true_pos + self.alpha * false_neg + self.beta * false_pos + self.smooth
        )
        # (1 - TI) ** gamma has an infinite slope at TI = 1 when gamma < 1.
        return ops.power(ops.maximum(1.0 - index, keras.backend.epsilon()), self.gamma)

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument."""
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "smooth": self.smooth,
        }


@keras.saving.register_keras_serializable(package="kreg_contrib")
class Quantile(keras.losses.Loss):
    """Quantile (pinball) loss: fits the ``quantile``-th conditional quantile.

    With error ``e = y_true - y_pred``, averaged over the last axis::

        loss = mean(max(quantile * e, (quantile - 1) * e))

    ``quantile=0.5`` gives half the mean absolute error (the median);
    ``quantile=0.9`` penalises under-prediction nine times more than over-prediction.

    Reference: R. Koenker and G. Bassett, "Regression Quantiles",
    Econometrica 46(1), 1978.

    Example:
        >>> import numpy as np
        >>> y_true, y_pred = np.array([[1.0], [1.0]]), np.array([[0.0], [2.0]])
        >>> loss = Quantile(quantile=0.9, reduction=None)(y_true, y_pred)
        >>> [round(float(v), 2) for v in loss]
        [0.9, 0.1]
    """

    def __init__(
        self,
        quantile: float = 0.5,
        reduction: str | None = "sum_over_batch_size",
        name: str = "quantile",
        dtype: Any = None,
    ) -> None:
        if not 0.0 < quantile < 1.0:
            raise ValueError(
                f"quantile must be strictly between 0 and 1. Received: quantile={quantile}"
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.quantile = quantile

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """One pinball loss per sample (mean over the last axis)."""
        y_pred = ops.convert_to_tensor(y_pred)
        error = ops.cast(y_true, y_pred.dtype) - y_pred
        pinball = ops.maximum(self.quantile * error, (self.quantile - 1.0) * error)
        return ops.mean(pinball, axis=-1)

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument."""
        return {**super().get_config(), "quantile": self.quantile}
