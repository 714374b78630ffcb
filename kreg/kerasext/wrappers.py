"""Plain ``fn(y_true, y_pred)`` loss and metric functions as Keras objects."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras

try:  # not exported by keras.losses, but what Keras's own loss functions are wrapped in
    from keras.src.losses.losses import LossFunctionWrapper
except ImportError:  # pragma: no cover - older layouts
    LossFunctionWrapper = keras.losses.Huber.__mro__[1]


def function_factory(fn: Callable[..., Any], kind: str, name: str) -> Callable[..., Any]:
    """Build instances of Keras's wrapper around a plain loss or metric function.

    Extra keyword arguments go to ``fn``, as with Keras's own wrappers.

    Example:
        >>> from keras import ops
        >>> def twice(y_true, y_pred):
        ...     return ops.mean(ops.abs(y_true - y_pred), axis=-1) * 2
        >>> make = function_factory(twice, "loss", "twice")
        >>> make().name
        'twice'
    """
    wrapper = LossFunctionWrapper if kind == "loss" else keras.metrics.MeanMetricWrapper

    def create(**config: Any) -> Any:
        config.setdefault("name", name)
        return wrapper(fn, **config)

    create.__signature__ = _wrapper_signature(fn, wrapper)  # type: ignore[attr-defined]
    create.__name__ = name
    return create


def _wrapper_signature(fn: Callable[..., Any], wrapper: type[Any]) -> inspect.Signature:
    own = _own_parameters(wrapper.__init__, skip=2)
    names = {p.name for p in own}
    extra = [p for p in _own_parameters(fn, skip=2) if p.name not in names]
    return inspect.Signature(own + extra)


def instance_factory(cls: type[Any], kind: str, name: str) -> Callable[..., Any]:
    """Build Keras's wrapper around an instance of a callable class that is not a Keras one.

    Keras's ``compile`` takes any callable ``obj(y_true, y_pred)`` as a loss or metric and
    wraps it; this does the same for a registered class: the wrapper's own arguments
    (``name``, ``reduction``...) go to the wrapper, the others to the class.

    Example:
        >>> from keras import ops
        >>> class Scaled:
        ...     def __init__(self, scale=2.0):
        ...         self.scale = scale
        ...     def __call__(self, y_true, y_pred):
        ...         return self.scale * ops.mean(ops.abs(y_true - y_pred), axis=-1)
        >>> loss = instance_factory(Scaled, "loss", "scaled")(scale=3.0, reduction="sum")
        >>> type(loss).__name__, loss.fn.scale, loss.reduction
        ('LossFunctionWrapper', 3.0, 'sum')
    """
    wrapper = LossFunctionWrapper if kind == "loss" else keras.metrics.MeanMetricWrapper
    wrapper_parameters = _own_parameters(wrapper.__init__, skip=2)
    own = {p.name for p in wrapper_parameters}

    def create(**config: Any) -> Any:
        wrapped = {key: config.pop(key) for key in list(config) if key in own}
        wrapped.setdefault("name", name)
        return wrapper(cls(**config), **wrapped)

    class_parameters = [p for p in _own_parameters(cls.__init__, skip=1) if p.name not in own]
    create.__signature__ = inspect.Signature(class_parameters + wrapper_parameters)  # type: ignore[attr-defined]
    create.__name__ = name
    return create


def _own_parameters(function: Callable[..., Any], skip: int) -> list[inspect.Parameter]:
    """``function``'s named parameters after the first ``skip``, as keyword-only ones."""
    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError):
        return []
    return [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in parameters
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
