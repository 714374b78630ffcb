"""Optimizers that reproduce the survey's cases."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


class FrozenCounterSGD(keras.optimizers.Optimizer):
    """Plain SGD whose ``apply`` never counts steps (as kerex's ``AdamW``)."""

    def __init__(self, learning_rate: Any = 0.01, name: str = "frozen_counter_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        variable.assign_sub(ops.cast(learning_rate, variable.dtype) * gradient)

    def apply(self, grads: Any, trainable_variables: Any = None) -> None:
        variables = list(trainable_variables or self._trainable_variables)
        if not self.built:
            self.build(variables)
        grads = self._clip_gradients(grads)  # clips, as Optimizer.apply does
        rate = self.learning_rate  # read, with a schedule, at iterations: never moves
        for gradient, variable in zip(grads, variables, strict=True):
            if gradient is not None:
                self.update_step(gradient, variable, rate)


class Optimizer(keras.optimizers.SGD):
    """A library's one optimizer, whose class is called ``Optimizer`` (ga-optimizer)."""
