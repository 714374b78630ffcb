"""The public functions of kreg. Importing this module imports neither Keras nor pluggy."""

from __future__ import annotations

import os
import threading

from kreg.errors import ContractError, UnknownComponentError
from kreg.warn import warn_caller

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from kreg.plugin_manager import PluginInfo
    from kreg.registry import Candidate, Entry, Registry

_lock = threading.RLock()
_building = False  # True while plugins are being loaded (their imports may import Keras)
_loader: int | None = None  # the thread loading plugins: it may not use the registry meanwhile
_keras_pending = False  # Keras finished importing during a build: register plugins after it
_registry: Registry | None = None
_plugins: list[PluginInfo] = []
_cache: dict[tuple[str, str | None], Candidate] = {}


def registry() -> Registry:
    """The process-wide registry, built (plugins discovered) on first use.

    Plugin code that runs while plugins load (their imports and hooks) may not
    use it: that would let one plugin read or change what others registered.

    Raises:
        RegistrationError: called by a plugin while kreg loads plugins.

    Example:
        >>> registry().resolve("adam").entry.kind
        'optimizer'
    """
    _refuse_plugin_code()
    if _registry is None:
        with _lock:  # another thread may be building it: wait, then use that one
            if _registry is None:
                reload()
    assert _registry is not None
    return _registry


def _refuse_plugin_code() -> None:
    if _loader is not None and _loader == threading.get_ident():
        from kreg.errors import RegistrationError

        raise RegistrationError(
            "a plugin used the kreg registry (kreg.get/lookup/entries/reload) while kreg "
            "was loading plugins; a plugin only registers its own components, with the "
            "`register` argument of its hooks"
        )


def reload() -> Registry:
    """Discover plugins again (after ``pip install`` in a running notebook, say).

    ``KREG_PREFER`` (comma-separated ``plugin:name`` or ``plugin``) is applied
    to the fresh registry.

    Example:
        >>> import kreg
        >>> kreg.reload().resolve("sgd").entry.plugin
        'keras'
    """
    global _registry, _plugins, _cache, _building, _keras_pending, _loader
    from kreg.plugin_manager import load_plugins
    from kreg.registry import Registry

    _refuse_plugin_code()
    with _lock:
        fresh = Registry()
        _building, _loader = True, threading.get_ident()
        _cache = {}  # plugin code must go through registry(), which refuses it
        try:
            infos = load_plugins(fresh)
        finally:
            _building, _loader = False, None
            _cache = _registry.cache if _registry is not None else {}
        for choice in filter(
            None, (p.strip() for p in os.environ.get("KREG_PREFER", "").split(","))
        ):
            try:
                fresh.prefer(choice)
            except (UnknownComponentError, LookupError) as error:
                warn_caller(f"KREG_PREFER: ignoring {choice!r}: {error}")
        _registry, _plugins, _cache = fresh, infos, fresh.cache
    if _keras_pending:
        # A plugin imported Keras while it was loading; kreg's import hook waited until now.
        _keras_pending = False
        from kreg.keras_objects import on_keras_imported

        on_keras_imported()
    return fresh


def get(name: Any, /, kind: str | None = None, **config: Any) -> Any:
    """Return a ready-to-use Keras loss, metric, optimizer or schedule by name.

    Names are case-insensitive and ignore ``_``, ``-`` and spaces; class names,
    snake_case names, Keras aliases (``mse``) and Keras 2 spellings (with a
    ``DeprecationWarning``) all work, as does ``plugin:name``. Keyword
    arguments go to the component; Keras 2 arguments (``lr``, ``decay``,
    ``reduction="auto"``) are translated with a warning. Objects that are not
    strings are returned unchanged.

    Args:
        name: a registered name, or an already built object.
        kind: ``"loss"``, ``"metric"``, ``"optimizer"`` or ``"schedule"``;
            needed when a name exists in several kinds (``mse``).
        **config: constructor arguments.

    Raises:
        UnknownComponentError: no such name (``.suggestions`` lists close ones).
        AmbiguousComponentError: the name exists in several kinds.
        ConfigError: unknown, missing or invalid argument.

    Example:
        >>> import kreg
        >>> loss = kreg.get("huber", delta=2.0)
        >>> type(loss).__name__, loss.get_config()["delta"]
        ('Huber', 2.0)
    """
    if name.__class__ is not str:
        return name
    try:
        candidate = _cache.get((name, kind))
    except TypeError:  # an unhashable kind: resolve() explains
        candidate = None
    candidate = candidate or registry().resolve(name, kind)
    if candidate.deprecated:
        entry = candidate.entry
        warn_caller(
            f"{candidate.spelling!r} is a Keras 2 name; use {entry.name!r} ({entry.public_path}).",
            DeprecationWarning,
        )
    try:
        return candidate.entry.create(config)
    except ContractError:
        if ":" in name:
            raise
        _cache.clear()  # the entry is now known to be rejected: another provider may win
        other = registry().resolve(name, kind)
        if other.entry is candidate.entry:
            raise
        return other.entry.create(config)


def lookup(name: str, kind: str | None = None) -> Entry:
    """Return the :class:`~kreg.registry.Entry` a name resolves to, importing nothing.

    Raises:
        UnknownComponentError: no such name.
        AmbiguousComponentError: the name exists in several kinds.
        ConfigError: ``name`` is not a string, or ``kind`` is not a kind.

    Example:
        >>> import kreg
        >>> kreg.lookup("MSE", kind="metric").name
        'mean_squared_error'
    """
    try:
        found = _cache.get((name, kind))
    except TypeError:  # an unhashable name or kind: resolve() explains
        found = None
    return (found or registry().resolve(name, kind)).entry


def entries(kind: str | None = None, pattern: str | None = None) -> list[Entry]:
    """List registered entries, optionally of one kind and matching an fnmatch pattern.

    Example:
        >>> import kreg
        >>> [e.name for e in kreg.entries("schedule", "*exponential*")]
        ['exponential_decay']
    """
    return registry().entries(kind, pattern)


def plugins() -> list[PluginInfo]:
    """What each plugin provided, and why any failed or was disabled.

    Example:
        >>> import kreg
        >>> [p.name for p in kreg.plugins() if p.source == "built-in"]
        ['keras']
    """
    registry()
    return list(_plugins)


def prefer(choice: str) -> None:
    """Make ``plugin:name`` (or every name of ``plugin``) win a name collision.

    Example:
        >>> import kreg
        >>> kreg.prefer("keras:huber")
        >>> kreg.lookup("huber").plugin
        'keras'
    """
    registry().prefer(choice)
