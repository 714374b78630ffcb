"""Model builders and data for the preflight corpora (tests/test_preflight*.py).

Everything is tiny: 8 input features, a hidden layer, and 512 rows of targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

N = 512
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 8)).astype("float32")
IDS3 = RNG.integers(0, 3, N)
IDS5 = RNG.integers(0, 5, N)
ONE_HOT3 = np.eye(3, dtype="float32")[IDS3]
BINARY = RNG.integers(0, 2, N).astype("float32")
REAL50 = RNG.normal(50, 10, N).astype("float32")
REAL = RNG.normal(0, 1, N).astype("float32")
COUNTS = RNG.poisson(3.0, N).astype("float32")


@dataclass
class Case:
    """One configuration: a model builder and ``kreg.preflight``'s keyword arguments.

    ``source`` says where it comes from (a keras.io example, a kreg notebook, the issue).
    """

    name: str
    model: Callable[[], Any]
    kwargs: Callable[[], dict[str, Any]]
    source: str = ""
    expected: tuple[str, str, str] | None = None  # (code, severity, text in the fix)
    where: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def mlp(units: int, activation: Any = None, *, inputs: int = 8, hidden: int = 16) -> Any:
    """``Input(inputs) -> Dense(hidden, relu) -> Dense(units, activation)``."""
    import keras

    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ]
    )


def stack(*layers: Callable[[], Any], inputs: tuple[int, ...] = (8,)) -> Callable[[], Any]:
    """A builder of ``Sequential([Input(inputs), *layers])`` (layers made fresh each time)."""

    def build() -> Any:
        import keras

        return keras.Sequential([keras.Input(inputs), *(make() for make in layers)])

    return build


def two_heads(kind_activation: str = "softmax", value_activation: Any = None) -> Any:
    """A functional model with outputs ``kind`` (3 units) and ``value`` (1 unit)."""
    import keras

    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    kind = keras.layers.Dense(3, activation=kind_activation, name="kind")(hidden)
    value = keras.layers.Dense(1, activation=value_activation, name="value")(hidden)
    return keras.Model(inputs, {"kind": kind, "value": value})


def dataset(y: Any, batch: int = 32) -> Any:
    """``tf.data.Dataset`` of ``(X, y)`` in batches."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((X, y)).batch(batch)
