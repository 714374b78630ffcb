"""Everything kreg runs on the Keras side. Importing this module imports Keras.

- ``AutoAccuracy``: the metric behind ``accuracy``/``acc``;
- wrappers that turn plain ``fn(y_true, y_pred)`` functions into Keras objects;
- ``repair_class_config``: makes ``get_config`` carry every argument the user
  set, for Keras versions that drop some;
- ``make_serializable`` and ``on_keras_imported``: what lets
  ``keras.models.load_model`` find kreg and plugin objects without
  ``custom_objects``.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops

try:  # not exported by keras.losses, but what Keras's own loss functions are wrapped in
    from keras.src.losses.losses import LossFunctionWrapper as _LossFunctionWrapper
except ImportError:  # pragma: no cover - older layouts
    _LossFunctionWrapper = keras.losses.Huber.__mro__[1]

_SERIALIZABLE_TYPES = (bool, int, float, str, type(None))
_registered = False


def _binary_or_sparse(y_true_shape: Any, y_pred_shape: Any) -> str:
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
            self.variant = _binary_or_sparse(tuple(y_true.shape), tuple(y_pred.shape))
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


class _PerSampleByDefault:
    """Reduce over every axis but the batch when ``axis`` is None: one loss per sample."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self._fn_kwargs.get("axis") is not None:
            return super().call(y_true, y_pred)
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


def function_factory(fn: Callable[..., Any], kind: str, name: str) -> Callable[..., Any]:
    """Build instances of Keras's wrapper around a plain loss or metric function.

    Extra keyword arguments go to ``fn``, as with Keras's own wrappers.

    Example:
        >>> def twice(y_true, y_pred):
        ...     return ops.mean(ops.abs(y_true - y_pred), axis=-1) * 2
        >>> make = function_factory(twice, "loss", "twice")
        >>> make().name
        'twice'
    """
    wrapper = _LossFunctionWrapper if kind == "loss" else keras.metrics.MeanMetricWrapper

    def create(**config: Any) -> Any:
        config.setdefault("name", name)
        return wrapper(fn, **config)

    create.__signature__ = _wrapper_signature(fn, wrapper)  # type: ignore[attr-defined]
    create.__name__ = name
    return create


def _wrapper_signature(fn: Callable[..., Any], wrapper: type) -> inspect.Signature:
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


def _plain(value: Any) -> Any:
    if isinstance(value, _SERIALIZABLE_TYPES):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return keras.saving.serialize_keras_object(value)


def _config_with(obj: Any, kept: dict[str, Any]) -> dict[str, Any]:
    config = type(obj).get_config(obj)
    for key, value in kept.items():
        config.setdefault(key, _plain(value))
    return config


@functools.lru_cache(maxsize=512)
def _accepted(cls: type) -> frozenset[str]:
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(parameters) - {"self"}


def make_serializable(obj: Any, package: str) -> Any:
    """Register a plugin's class or function with Keras under ``package`` (once).

    Then ``keras.models.load_model`` finds it by name, without ``custom_objects``.
    Objects the plugin registered itself are left as they are.

    Example:
        >>> def my_loss(y_true, y_pred):
        ...     return ops.mean(y_pred - y_true, axis=-1)
        >>> make_serializable(my_loss, "my_plugin") is my_loss
        True
        >>> keras.saving.get_registered_name(my_loss)
        'my_plugin>my_loss'
    """
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return obj
    if keras.saving.get_registered_name(obj) != obj.__name__:
        return obj
    if inspect.isclass(obj) and not hasattr(obj, "get_config"):
        return obj
    try:
        keras.saving.register_keras_serializable(package=package)(obj)
    except (ValueError, TypeError) as error:
        warnings.warn(f"kreg: could not register {obj!r} with Keras: {error}", stacklevel=2)
    return obj


def _stored_value(instance: Any, key: str) -> Callable[[Any], Any] | None:
    if key in getattr(instance, "_fn_kwargs", {}):
        return lambda obj: obj._fn_kwargs[key]
    if key in vars(instance):
        return lambda obj: vars(obj)[key]
    return None


def repair_class_config(cls: type) -> list[str]:
    """Make ``cls.get_config`` include constructor arguments that this Keras drops.

    Gated on behaviour, not on a version: a default instance is built, and only
    arguments missing from its ``get_config`` whose value the instance stores
    are added. Once Keras includes them (keras-team/keras#23286), nothing is
    patched. Returns the repaired argument names.

    Example:
        >>> repair_class_config(keras.losses.Huber)  # doctest: +SKIP
        ['delta']
    """
    if "_kreg_repaired" in cls.__dict__:
        return list(cls.__dict__["_kreg_repaired"])
    try:
        # An explicit name keeps Keras's automatic naming (auc, auc_1...) untouched.
        probe = {"name": "kreg_probe"} if "name" in _accepted(cls) else {}
        # In a throw-away graph: building a metric creates variables, and doing that eagerly
        # would start TensorFlow's runtime at import, after which users can no longer set
        # memory growth, visible devices or logical CPUs.
        with tf.Graph().as_default():
            instance = cls(**probe)
            present = instance.get_config()
    except Exception:
        return []
    getters = {}
    for key in _accepted(cls) - {"name", "dtype", "reduction"}:
        if key not in present:
            getter = _stored_value(instance, key)
            if getter is not None:
                getters[key] = getter
    cls._kreg_repaired = tuple(getters)
    if getters:
        original = cls.get_config

        def get_config(self: Any) -> dict[str, Any]:
            config = original(self)
            for key, getter in getters.items():
                config.setdefault(key, _plain(getter(self)))
            return config

        get_config.__doc__ = original.__doc__
        get_config.__kreg_original__ = original  # type: ignore[attr-defined]
        cls.get_config = get_config
    return list(getters)


def repair_builtin_classes() -> dict[str, list[str]]:
    """Apply :func:`repair_class_config` to every built-in loss and metric class."""
    from kreg import api

    repaired = {}
    for entry in api.registry().entries_list:
        if entry.plugin == "keras" and entry.kind in ("loss", "metric"):
            try:
                target = entry.load()
            except Exception:
                continue
            if inspect.isclass(target):
                fixed = repair_class_config(target)
                if fixed:
                    repaired[entry.public_path] = fixed
    return repaired


def on_keras_imported() -> None:
    """Register every plugin's classes and functions with Keras (import-time hook).

    Runs once Keras (and TensorFlow) have finished importing in a process that
    imported kreg, and again after each :func:`kreg.reload`, so models saved with
    plugin components load without ``custom_objects``. A plugin whose code fails
    to import is skipped here; the failure shows when its component is asked for.
    """
    global _registered
    from kreg import api

    if not _registered:
        _registered = True
        repair_builtin_classes()
    for entry in api.registry().entries_list:
        if entry.plugin != "keras":
            try:
                make_serializable(entry.load(), entry.plugin)
            except Exception:
                continue


on_keras_imported()
