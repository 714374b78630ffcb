"""What a behavioural check runs on: how to build the component, and with which data."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kreg.contracts.examples import Example, as_example


@dataclass
class Subject:
    """One component under check.

    ``build(**config)`` makes a fresh instance. ``raw`` subjects are checked as
    they are: kreg's repairs of Keras's ``get_config`` are looked through, so a
    Keras bug shows; entries are checked as :func:`kreg.get` hands them out.
    """

    label: str
    kind: str
    target: Any
    build: Callable[..., Any]
    example: Example
    tags: tuple[str, ...] = ()
    raw: bool = False
    from_registry: bool = False
    as_written: bool = False
    """Judge ``get_config`` as the author wrote it (a third-party entry): kreg's repairs in
    this process are looked through, so the check still fails what kreg.get repaired."""
    fresh_names: tuple[str, ...] = ()
    """For a lazy entry: the Keras names kreg's stand-ins answer to in a fresh process (a
    saved model under another name needs its library imported before ``load_model``)."""

    def make(self, **overrides: Any) -> Any:
        """A fresh instance with the example's arguments plus ``overrides``."""
        return self.build(**{**self.example.config, **overrides})

    def config_of(self, instance: Any) -> dict[str, Any]:
        """``instance.get_config()``, or the unrepaired Keras one for raw subjects."""
        if self.raw or self.as_written:
            owner = next(c for c in type(instance).__mro__ if "get_config" in c.__dict__)
            original = getattr(owner.__dict__["get_config"], "__kreg_original__", None)
            if original is not None:
                config: dict[str, Any] = original(instance)
                return config
        config = instance.get_config()
        return config

    def repaired_keys(self) -> tuple[str, ...]:
        """Arguments kreg adds back to this class's ``get_config`` (Keras bugs)."""
        cls = self.target if inspect.isclass(self.target) else type(self.target)
        return tuple(getattr(cls, "_kreg_repaired", ()))


def subject_for_object(obj: Any, kind: str, example: Any = None) -> Subject:
    """The subject for a class, function or instance given directly to :func:`kreg.check`.

    Example:
        >>> import keras
        >>> subject_for_object(keras.losses.Huber, "loss").label
        'loss class Huber'
    """
    made = example() if callable(example) else example
    name = getattr(obj, "__qualname__", type(obj).__qualname__)
    if inspect.isclass(obj):
        build: Callable[..., Any] = obj
        label = f"{kind} class {name}"
    elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
        from kreg.kerasext.wrappers import function_factory

        build = function_factory(obj, kind, obj.__name__)
        label = f"{kind} function {name}"
    else:
        cls = type(obj)
        base = obj.get_config()

        def build(**config: Any) -> Any:
            return cls.from_config({**base, **config})

        label = f"{kind} {cls.__qualname__} instance"
    return Subject(
        label=label,
        kind=kind,
        target=obj,
        build=build,
        example=as_example(kind, made),
        raw=True,
    )
