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
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in list(inspect.signature(wrapper.__init__).parameters.values())[2:]
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    extra = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in list(inspect.signature(fn).parameters.values())[2:]
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    names = {p.name for p in own}
    return inspect.Signature(own + [p for p in extra if p.name not in names])
