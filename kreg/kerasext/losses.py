"""``Dice`` and ``Tversky`` that give one loss per sample, as every other Keras loss does."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


class _PerSampleByDefault:
    """Reduce over every axis but the batch when ``axis`` is None: one loss per sample."""

    _fn_kwargs: dict[str, Any]
    fn: Any

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self._fn_kwargs.get("axis") is not None:
            return super().call(y_true, y_pred)  # type: ignore[misc]
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = ops.expand_dims(y_true, -1)
        axis = tuple(range(1, len(y_pred.shape)))
        return self.fn(y_true, y_pred, **{**self._fn_kwargs, "axis": axis})


@keras.saving.register_keras_serializable(package="kreg")
class Dice(_PerSampleByDefault, keras.losses.Dice):
    """Dice loss ``1 - 2|y ∩ ŷ| / (|y| + |ŷ|)``, one value per sample (Keras's ``Dice``).

    With ``axis=None`` (the default) each sample is reduced over all its
    non-batch axes, so ``sample_weight`` and ``reduction=None`` work; Keras's
    own class returns one number for the whole batch. An explicit ``axis``
    behaves exactly as Keras's.

    Example:
        >>> import numpy as np
        >>> y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> Dice(reduction=None)(y_true, y_true * 0.5).shape
        TensorShape([2])
    """


@keras.saving.register_keras_serializable(package="kreg")
class Tversky(_PerSampleByDefault, keras.losses.Tversky):
    """Tversky loss (weights ``alpha`` on false positives, ``beta`` on false negatives), per sample.

    As :class:`Dice`: with ``axis=None`` one value per sample; Keras's own
    class returns one number for the whole batch.

    Example:
        >>> import numpy as np
        >>> y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> Tversky(alpha=0.3, beta=0.7, reduction=None)(y_true, y_true * 0.5).shape
        TensorShape([2])
    """
