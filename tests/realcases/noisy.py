"""A library that prints when imported (segmentation-models announces its framework)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

print("noisy library: using the `keras` framework.")


class NoisyLoss(keras.losses.Loss):
    """Mean absolute error, from a module that prints at import."""

    def __init__(self, name: str = "noisy_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)
