"""A model's outputs as preflight sees them: name, shape and the activation that ends each.

The activation is read from the graph: a separate ``Activation``/``Softmax``/``ReLU``
layer, or the ``activation`` of the layer that produces the output (a sigmoid inside
the last ``Dense``), looking through layers that keep values as they are (dropout,
reshaping, pooling). Anything else is unknown, and unknown means no finding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ACTIVATION_RANGES: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "softmax": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "hard_tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "relu": (0.0, math.inf),
    "relu6": (0.0, 6.0),
    "softplus": (0.0, math.inf),
    "exponential": (0.0, math.inf),
    "elu": (-1.0, math.inf),
    "selu": (-1.7581, math.inf),
    "gelu": (-0.17, math.inf),
    "silu": (-0.28, math.inf),
    "swish": (-0.28, math.inf),
    "mish": (-0.31, math.inf),
    "linear": (-math.inf, math.inf),
    "leaky_relu": (-math.inf, math.inf),
    "log_softmax": (-math.inf, 0.0),
}
"""The values each activation can produce (closed bounds, tolerance applied by the rules)."""

PASS_THROUGH = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "AlphaDropout",
    "Reshape",
    "Flatten",
    "Permute",
    "Identity",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "TimeDistributed",
    "InputLayer",
}
"""Layers whose output holds the values of their input (or an average or maximum of them)."""


@dataclass(frozen=True)
class Output:
    """One model output: its name, its shape (batch axis first) and its final activation.

    Example:
        >>> out = Output("dense", (None, 3), "softmax")
        >>> out.units, out.value_range
        (3, (0.0, 1.0))
        >>> Output("head", (None,), None).units, Output("head", (None,), None).value_range
        (1, None)
    """

    name: str
    shape: tuple[Any, ...] | None
    activation: str | None  # None: unknown

    @property
    def units(self) -> int | None:
        """The size of the last axis (1 for an output of shape ``(batch,)``), or None."""
        if self.shape is None:
            return None
        if len(self.shape) < 2:
            return 1
        last = self.shape[-1]
        return last if isinstance(last, int) else None

    @property
    def value_range(self) -> tuple[float, float] | None:
        """What the activation can produce, or None when it is unknown."""
        return ACTIVATION_RANGES.get(self.activation or "")


def model_outputs(model: Any) -> list[Output]:
    """The outputs of ``model`` (a built functional or Sequential model), in Keras's order.

    A subclassed model with no graph gives ``[]``; an unbuilt Sequential model gives its
    last layer with the shape its units imply.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
        ...                           keras.layers.Dropout(0.1), keras.layers.Softmax()])
        >>> [(out.shape, out.activation) for out in model_outputs(model)]
        [((None, 3), 'softmax')]
    """
    try:
        tensors = list(model.outputs or [])
    except (AttributeError, ValueError):
        tensors = []
    if not tensors:
        return _unbuilt_sequential(model)
    names = list(getattr(model, "output_names", None) or [])
    found = []
    for index, tensor in enumerate(tensors):
        history = getattr(tensor, "_keras_history", None)
        layer = history.operation if history is not None else None
        name = names[index] if index < len(names) else getattr(layer, "name", f"output_{index}")
        activation = _activation(layer, history.node_index if history is not None else 0)
        found.append(Output(name, tuple(tensor.shape), activation))
    return found


def _unbuilt_sequential(model: Any) -> list[Output]:
    layers = list(getattr(model, "layers", None) or [])
    if type(model).__name__ != "Sequential" or not layers:
        return []
    last = layers[-1]
    units = getattr(last, "units", None)
    shape = (None, units) if isinstance(units, int) else None
    activation: str | None = None
    for layer in reversed(layers):
        kind = type(layer).__name__
        named = _named_activation(layer)
        if named is not None or kind not in PASS_THROUGH:
            activation = named
            break
    return [Output(last.name, shape, activation)]


def _activation(layer: Any, node_index: int) -> str | None:
    for _ in range(32):
        if layer is None:
            return None
        named = _named_activation(layer)
        if named is not None or type(layer).__name__ not in PASS_THROUGH:
            return named
        try:
            inputs = layer._inbound_nodes[node_index].input_tensors
        except (AttributeError, IndexError):
            return None
        if len(inputs) != 1:
            return None
        history = getattr(inputs[0], "_keras_history", None)
        if history is None:
            return None
        layer, node_index = history.operation, history.node_index
    return None


def _named_activation(layer: Any) -> str | None:
    """The activation ``layer`` ends with, by name; None when it has none or it is unknown."""
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    if kind == "ReLU":
        if float(getattr(layer, "negative_slope", 0.0) or 0.0) != 0.0:
            return "leaky_relu"
        return "relu6" if getattr(layer, "max_value", None) == 6 else "relu"
    if kind in ("LeakyReLU", "PReLU"):
        return "leaky_relu"
    if kind == "ELU":
        return "elu"
    if kind in PASS_THROUGH:
        return None
    if hasattr(layer, "layers") and hasattr(layer, "outputs"):  # a nested model
        inner = model_outputs(layer)
        return inner[0].activation if len(inner) == 1 else None
    function = getattr(layer, "activation", None)
    name = getattr(function, "__name__", None)
    return name if name in ACTIVATION_RANGES else None
