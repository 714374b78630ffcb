"""Optimizers: Lookahead, wrapping any optimizer of the kreg registry."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def _inner_optimizer(optimizer: Any) -> Any:
    """A fresh optimizer from a registry name, a Keras config dict or an optimizer object."""
    if isinstance(optimizer, str):
        import kreg

        return kreg.get(optimizer, kind="optimizer")
    if isinstance(optimizer, dict):
        return keras.saving.deserialize_keras_object(optimizer)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer).from_config(optimizer.get_config())  # never mutate the caller's
    raise TypeError(
        "Lookahead(optimizer=...) takes a registry name such as 'adam', an optimizer or its "
        f"config. Received: optimizer={optimizer!r}"
    )


@keras.saving.register_keras_serializable(package="kreg_contrib")
class Lookahead(keras.optimizers.Optimizer):
    """Lookahead: the inner optimizer takes k fast steps, then the weights move part-way back.

    Slow weights φ start at the model's weights θ. Every step the inner
    optimizer updates θ; every ``sync_period`` (k) steps::

        φ ← φ + slow_step_size · (θ − φ);   θ ← φ

    It reduces the variance of the inner optimizer and makes it less sensitive
    to its learning rate. The inner optimizer contributes only its update rule:
    learning rate (or schedule), weight decay and clipping are the Lookahead's,
    taken from the inner optimizer unless given here.

    Reference: M. R. Zhang, J. Lucas, G. Hinton and J. Ba, "Lookahead
    Optimizer: k steps forward, 1 step back", NeurIPS 2019, arXiv:1907.08610.

    Example:
        >>> optimizer = Lookahead("sgd", sync_period=2, slow_step_size=0.5, learning_rate=0.1)
        >>> weight = keras.Variable([1.0])
        >>> for _ in range(2):
        ...     _ = optimizer.apply_gradients([(keras.ops.convert_to_tensor([1.0]), weight)])
        >>> round(float(weight.numpy()[0]), 3)  # fast: 1 -> 0.9 -> 0.8; slow: 1 + 0.5 * (0.8 - 1)
        0.9
    """

    def __init__(
        self,
        optimizer: Any = "adam",
        sync_period: int = 6,
        slow_step_size: float = 0.5,
        learning_rate: Any = None,
        name: str = "lookahead",
        **kwargs: Any,
    ) -> None:
        if int(sync_period) < 1 or not 0.0 < slow_step_size <= 1.0:
            raise ValueError(
                "sync_period must be >= 1 and 0 < slow_step_size <= 1. Received: "
                f"sync_period={sync_period}, slow_step_size={slow_step_size}"
            )
        inner = _inner_optimizer(optimizer)
        inner_config = inner.get_config()
        if learning_rate is None:
            learning_rate = inner_config["learning_rate"]
            if isinstance(learning_rate, dict):
                learning_rate = keras.optimizers.schedules.deserialize(learning_rate)
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            if kwargs.get(key) is None and inner_config.get(key) is not None:
                kwargs[key] = inner_config[key]
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.inner = inner
        self.inner._iterations = self._iterations  # one step counter (Adam's bias correction)
        self.sync_period = int(sync_period)
        self.slow_step_size = slow_step_size
        self._inner_slots: list[Any] = []

    def build(self, variables: list[Any]) -> None:
        """Create the inner optimizer's slots and one slow copy of each variable."""
        if self.built:
            return
        super().build(variables)
        before = {id(v) for v in self.inner.variables}
        self.inner.build(variables)
        self._inner_slots = [v for v in self.inner.variables if id(v) not in before]
        self._slow = []
        for variable in variables:
            slow = self.add_variable_from_reference(variable, name="slow")
            # A copy: on JAX, assigning the variable itself would share its buffer, and
            # fit() donates both (jax: "Attempt to donate the same buffer twice").
            slow.assign(ops.copy(variable))
            self._slow.append(slow)

    @property
    def variables(self) -> list[Any]:
        """This optimizer's variables followed by the inner optimizer's slots, each once.

        Keras's attribute tracker may already have put the slots into ``_variables``
        (``_inner_slots`` is a list of variables set on the optimizer), so they are
        not added twice.
        """
        seen = {id(v) for v in self._variables}
        return [*self._variables, *(v for v in self._inner_slots if id(v) not in seen)]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        """One inner step; every ``sync_period`` steps, pull the slow weights toward it."""
        self.inner.update_step(gradient, variable, learning_rate)
        slow = self._slow[self._get_variable_index(variable)]
        sync = ops.equal(ops.mod(self.iterations + 1, self.sync_period), 0)
        # Values, not variables, into ops.where: JAX no longer converts a Keras variable
        # there ("Triggering __jax_array__() during abstractification is no longer supported").
        fast, slow_value = ops.convert_to_tensor(variable), ops.convert_to_tensor(slow)
        moved = slow_value + ops.cast(self.slow_step_size, variable.dtype) * (fast - slow_value)
        self.assign(slow, ops.where(sync, moved, slow_value))
        self.assign(variable, ops.where(sync, moved, fast))

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, the inner optimizer as a Keras config."""
        return {
            **super().get_config(),
            "optimizer": keras.saving.serialize_keras_object(self.inner),
            "sync_period": self.sync_period,
            "slow_step_size": self.slow_step_size,
        }
