"""Turning a plugin's ``register(...)`` calls into entries, refusing what kreg cannot accept."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from kreg.errors import RegistrationError
from kreg.names import canonical_name, normalize
from kreg.registry.entry import Entry
from kreg.registry.expects import expects_from


def registrar(
    kind: str, plugin: str, version: str | None, staged: list[Entry]
) -> Callable[..., None]:
    """Return the ``register`` callable handed to one plugin's hook for ``kind``.

    Each call validates its arguments and appends an :class:`Entry` to ``staged``;
    the plugin's entries join the catalogue only once all its hooks succeeded.

    Example:
        >>> staged = []
        >>> registrar("loss", "demo", "1.0", staged)("demo.losses:FocalLoss", aliases=["fl"])
        >>> staged[0].qualified_name, staged[0].aliases
        ('demo:focal_loss', ('fl',))
        >>> registrar("loss", "my_plugin", None, staged=[])(42)
        Traceback (most recent call last):
        ...
        kreg.errors.RegistrationError: ...
    """

    def register(
        obj: Any,
        name: str | None = None,
        *,
        aliases: Any = (),
        example: Callable[[], Any] | None = None,
        tags: Any = (),
        legacy_aliases: Any = (),
        defects: Any = None,
        expects: Any = None,
    ) -> None:
        entry = make_entry(
            kind, plugin, version, obj, name, aliases, example, tags, legacy_aliases, defects
        )
        if expects is not None:
            entry = dataclasses.replace(entry, expects=_expects(kind, expects, plugin))
        # An explicit name wins over an earlier entry's implicit alias (its object's name):
        # register(Cls, "variant") then register(Cls) names the second 'cls' (snake_case).
        wanted = normalize(entry.name)
        for index, earlier in enumerate(staged):
            implicit_alias = earlier.aliases[:1] == (_object_name(earlier.target),)
            if earlier.kind == kind and implicit_alias and normalize(earlier.aliases[0]) == wanted:
                staged[index] = dataclasses.replace(earlier, aliases=earlier.aliases[1:])
        taken = {normalize(s) for e in staged if e.kind == kind for s in e.spellings}
        implicit = entry.aliases[:1] if entry.aliases[:1] == (_object_name(obj),) else ()
        if implicit and normalize(implicit[0]) in taken:
            entry = dataclasses.replace(entry, aliases=entry.aliases[1:])
        clash = [s for s in (entry.name, *entry.aliases) if normalize(s) in taken]
        if clash:
            raise RegistrationError(
                f"plugin {plugin!r} registered the {kind} name {clash[0]!r} twice; "
                "give each component its own name and aliases."
            )
        staged.append(entry)

    return register


def _expects(kind: str, value: Any, plugin: str) -> Any:
    if kind not in ("loss", "metric"):
        raise RegistrationError(
            f"plugin {plugin!r}: expects= describes the data a loss or metric takes; "
            f"{kind}s have none. Remove expects= from this register call."
        )
    return expects_from(value, plugin)


def _object_name(obj: Any) -> str:
    if isinstance(obj, str):
        return obj.partition(":")[2]
    return getattr(obj, "__name__", "")


def _names(value: Any, what: str, plugin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise RegistrationError(
            f"plugin {plugin!r}: {what} must be a list of strings. Received: {what}={value!r}"
        ) from None
    for name in names:
        _check_name(name, plugin, what)
    return names


def _check_name(name: Any, plugin: str, what: str = "name") -> None:
    if not isinstance(name, str) or not normalize(name) or ":" in name:
        raise RegistrationError(
            f"plugin {plugin!r}: {what} must be a non-empty string without ':'. "
            f"Received: {what}={name!r}"
        )


def make_entry(
    kind: str,
    plugin: str,
    version: str | None,
    obj: Any,
    name: str | None,
    aliases: Any,
    example: Any,
    tags: Any,
    legacy_aliases: Any,
    defects: Any = None,
) -> Entry:
    """A validated :class:`Entry` from the arguments of one ``register`` call."""
    if isinstance(obj, str):
        module_name, sep, attribute = obj.partition(":")
        if not (sep and module_name and attribute.isidentifier()):
            raise RegistrationError(
                f"plugin {plugin!r}: a lazy {kind} target must look like 'package.module:Name'. "
                f"Received: {obj!r}"
            )
        object_name = attribute
    elif callable(obj) and hasattr(obj, "__name__"):
        object_name = obj.__name__
    elif callable(obj) and kind in ("loss", "metric"):  # an object called as obj(y_true, y_pred)
        object_name = type(obj).__name__
    else:
        raise RegistrationError(
            f"plugin {plugin!r} registered a {kind} that is neither a class, a function, a "
            f"callable object (losses and metrics) nor a 'module:attr' string. Received: "
            f"{obj!r} ({type(obj).__name__})"
        )
    if name is None:
        name = _default_name(kind, object_name, plugin)
    _check_name(name, plugin)
    if example is not None and not callable(example):
        raise RegistrationError(
            f"plugin {plugin!r}: example= must be a zero-argument callable returning "
            f"(y_true, y_pred). Received: {example!r}"
        )
    object_alias = () if normalize(object_name) == normalize(name) else (object_name,)
    return Entry(
        name=name,
        kind=kind,
        target=obj,
        plugin=plugin,
        plugin_version=version,
        aliases=tuple(dict.fromkeys(object_alias + _names(aliases, "aliases", plugin))),
        legacy_aliases=_names(legacy_aliases, "legacy_aliases", plugin),
        tags=_names(tags, "tags", plugin),
        example=example,
        defects=_defects(defects, plugin),
    )


_GENERIC = {"loss", "metric", "optimizer", "schedule", "learningrateschedule"}


def _default_name(kind: str, object_name: str, plugin: str) -> str:
    """The canonical name of a registered object; a class called just ``Optimizer`` (or
    ``Loss``...) is named after its plugin, as "optimizer" alone says nothing.

    Example:
        >>> _default_name("loss", "SimCLRLoss", "lib"), _default_name("loss", "Loss", "ga")
        ('simclr_loss', 'ga_loss')
        >>> _default_name("optimizer", "Optimizer", "ga_optimizer")
        'ga_optimizer'
    """
    name = canonical_name(kind, object_name)
    if normalize(name) not in _GENERIC:
        return name
    prefix = canonical_name("loss", plugin)
    return prefix if normalize(name) in normalize(plugin) else f"{prefix}_{name}"


def _defects(value: Any, plugin: str) -> tuple[tuple[str, str], ...]:
    """``{tag: one-line reason}`` as sorted pairs, each a non-empty string."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip()
        for k, v in value.items()
    ):
        raise RegistrationError(
            f"plugin {plugin!r}: defects= must be a dict {{tag: one-line reason}} of strings. "
            f"Received: defects={value!r}"
        )
    return tuple(sorted((k.strip(), v.strip()) for k, v in value.items()))
