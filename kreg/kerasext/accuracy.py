"""``AutoAccuracy``: ``compile(metrics=["accuracy"])``'s choice of accuracy, as an object."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def accuracy_variant(y_true_shape: tuple[Any, ...], y_pred_shape: tuple[Any, ...]) -> str:
    """``"binary"``, ``"sparse"`` or ``"categorical"``: Keras's choice for these shapes.

    Example:
        >>> accuracy_variant((4, 1), (4, 1)), accuracy_variant((4,), (4, 3))
        ('binary', 'sparse')
    """
    true_rank, pred_rank = len(y_true_shape), len(y_pred_shape)
    pred_last = y_pred_shape[-1] if pred_rank else None
    true_last = y_true_shape[-1] if true_rank else None
    if pred_last == 1 or pred_rank == 0:
        return "binary"
    if true_rank < pred_rank or (true_last == 1 and pred_last not in (None, 1)):
        return "sparse"
    return "categorical"


_ACCURACY_FUNCTIONS = {
    "binary": keras.metrics.binary_accuracy,
    "sparse": keras.metrics.sparse_categorical_accuracy,
    "categorical": keras.metrics.categorical_accuracy,
}


@keras.saving.register_keras_serializable(package="kreg")
class AutoAccuracy(keras.metrics.Mean):
    """Accuracy that picks binary, categorical or sparse accuracy from the data's shapes.

    It is what ``compile(metrics=["accuracy"])`` does inside Keras, as an object:
    binary when predictions have one column, sparse when labels have one fewer
    dimension (or one column against several), categorical otherwise. The
    choice is made from static shapes on the first update.

    Example:
        >>> metric = AutoAccuracy()
        >>> metric.update_state([[1], [0]], [[0.8], [0.3]])
        >>> float(metric.result()), metric.variant
        (1.0, 'binary')
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.variant: str | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Accumulate the accuracy of one batch (see ``keras.metrics.Mean``)."""
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        if self.variant is None:
            self.variant = accuracy_variant(tuple(y_true.shape), tuple(y_pred.shape))
        mask = (
            keras.backend.get_keras_mask(y_pred)
            if hasattr(keras.backend, "get_keras_mask")
            else None
        )
        values = _ACCURACY_FUNCTIONS[self.variant](y_true, y_pred)
        if mask is not None:
            mask = ops.cast(mask, self.dtype)
            sample_weight = mask if sample_weight is None else mask * sample_weight
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        """Name and dtype; the variant is chosen again from the data after loading."""
        return {"name": self.name, "dtype": self.dtype}
