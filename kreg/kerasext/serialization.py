"""Keras serialization of kreg and plugin objects, and the ``get_config`` repair.

- :func:`make_serializable` registers a plugin's class or function with Keras, so
  ``keras.models.load_model`` finds it without ``custom_objects``;
- :func:`repair_class_config` makes ``get_config`` carry every argument the user set,
  for Keras versions that drop some.

Importing this module does not import Keras: its functions run once Keras is imported
(:mod:`kreg.registry.catalog` calls them from the import hook), so this module can
never be caught half-imported by that hook.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

_SERIALIZABLE_TYPES = (bool, int, float, str, type(None))


def _plain(value: Any) -> Any:
    import keras

    if isinstance(value, _SERIALIZABLE_TYPES):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return keras.saving.serialize_keras_object(value)


@functools.lru_cache(maxsize=512)
def _accepted(cls: type[Any]) -> frozenset[str]:
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(parameters) - {"self"}


def make_serializable(obj: object, package: str) -> object:
    """Register a plugin's class or function with Keras under ``package`` (once).

    Then ``keras.models.load_model`` finds it by name, without ``custom_objects``.
    Objects the plugin registered itself are left as they are.

    Example:
        >>> import keras
        >>> def my_loss(y_true, y_pred):
        ...     return keras.ops.mean(y_pred - y_true, axis=-1)
        >>> make_serializable(my_loss, "my_plugin") is my_loss
        True
        >>> keras.saving.get_registered_name(my_loss)
        'my_plugin>my_loss'
    """
    import keras

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


def repair_class_config(cls: type, required: dict[str, Any] | None = None) -> list[str]:
    """Make ``cls.get_config`` include constructor arguments that it drops.

    Gated on behaviour, not on a version: an instance is built (with ``required``
    arguments, for classes without defaults), and only arguments missing from its
    ``get_config`` whose value the instance stores under the same name are added.
    Once the class includes them (for Keras: keras-team/keras#23286), nothing is
    patched. Returns the repaired argument names.

    Example:
        >>> import keras
        >>> repair_class_config(keras.losses.Huber)  # doctest: +SKIP
        ['delta']
    """
    if "_kreg_repaired" in cls.__dict__:
        return list(cls.__dict__["_kreg_repaired"])
    try:
        # An explicit name keeps Keras's automatic naming (auc, auc_1...) untouched.
        probe = {"name": "kreg_probe"} if "name" in _accepted(cls) else {}
        probe.update(required or {})
        with _throwaway_graph():
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
    cls._kreg_repaired = tuple(getters)  # type: ignore[attr-defined]
    if getters:
        original = cls.get_config  # type: ignore[attr-defined]

        def get_config(self: Any) -> dict[str, Any]:
            config: dict[str, Any] = original(self)
            for key, getter in getters.items():
                config.setdefault(key, _plain(getter(self)))
            return config

        get_config.__doc__ = original.__doc__
        get_config.__kreg_original__ = original  # type: ignore[attr-defined]
        cls.get_config = get_config  # type: ignore[attr-defined]
    return list(getters)


class _StandIn(type):
    """The metaclass of stand-ins: calling one calls (or instantiates) the real object."""

    _kreg_load: Callable[[], Any]

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._kreg_load()(*args, **kwargs)


def register_lazily(
    registered_name: str, load: Callable[[], Any], function: bool = False, module: str = ""
) -> bool:
    """Register a stand-in under ``registered_name`` that imports the real object on first use.

    ``keras.models.load_model`` then finds a plugin's lazy component without it being
    imported when kreg starts: the stand-in's ``from_config`` (for a class) or call (for a
    ``function``) runs ``load()``, which imports the real object and registers it in the
    stand-in's place. A name Keras already knows is left alone. Returns whether it
    registered one. ``module`` is where the real object lives: the stand-in claims it, so
    that Keras's messages about it name the real class (``keras_cv.losses.CIoULoss``).

    Example:
        >>> import keras
        >>> register_lazily("demo>Doubler", lambda: (lambda x: 2 * x), function=True)
        True
        >>> keras.saving.get_registered_object("demo>Doubler")(21)
        42
    """
    import keras

    registry = keras.saving.get_custom_objects()
    if registered_name in registry:
        return False
    package, _, name = registered_name.partition(">")
    if function:  # a real function, so that Keras saves it again by its registered name

        def stand_in(*args: Any, **kwargs: Any) -> Any:
            return load()(*args, **kwargs)

        stand_in.__name__ = stand_in.__qualname__ = name
        stand_in.__module__ = module or stand_in.__module__
        keras.saving.register_keras_serializable(package, name)(stand_in)
        return True

    def from_config(cls: type, config: dict[str, Any]) -> Any:
        return load().from_config(config)

    stand_in = _StandIn(
        name,
        (),
        {
            "__doc__": f"Imports {registered_name} when a saved model needs it.",
            "_kreg_load": staticmethod(load),
            "from_config": classmethod(from_config),
            **({"__module__": module} if module else {}),
        },
    )
    registry[registered_name] = stand_in
    return True


def _throwaway_graph() -> Any:
    """On TensorFlow, a throw-away graph; elsewhere nothing (a null context).

    Building a metric creates variables, and doing that eagerly on TensorFlow would start
    its runtime at import, after which users can no longer set memory growth, visible
    devices or logical CPUs. Other backends have no such runtime to protect.
    """
    from kreg.kerasext.backend import is_tensorflow

    if not is_tensorflow():
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.Graph().as_default()
