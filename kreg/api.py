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
_keras_pending = False  # Keras finished importing during a build: register plugins after it
_registry: Registry | None = None
_plugins: list[PluginInfo] = []
_cache: dict[tuple[str, str | None], Candidate] = {}


def registry() -> Registry:
    """The process-wide registry, built (plugins discovered) on first use.

    Example:
        >>> registry().resolve("adam").entry.kind
        'optimizer'
    """
    if _registry is None:
        if _building:
            from kreg.errors import RegistrationError

            raise RegistrationError(
                "a plugin used the kreg registry while kreg was still loading plugins; "
                "register components in the hooks without calling kreg.get/lookup there"
            )
        reload()
    assert _registry is not None
    return _registry


def reload() -> Registry:
    """Discover plugins again (after ``pip install`` in a running notebook, say).

    ``KREG_PREFER`` (comma-separated ``plugin:name`` or ``plugin``) is applied
    to the fresh registry.

    Example:
        >>> import kreg
        >>> kreg.reload().resolve("sgd").entry.plugin
        'keras'
    """
    global _registry, _plugins, _cache, _building, _keras_pending
    from kreg.plugin_manager import load_plugins
    from kreg.registry import Registry

    with _lock:
        fresh = Registry()
        _building = True
        try:
            infos = load_plugins(fresh)
        finally:
            _building = False
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
    candidate = _cache.get((name, kind)) or registry().resolve(name, kind)
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

    Example:
        >>> import kreg
        >>> kreg.lookup("MSE", kind="metric").name
        'mean_squared_error'
    """
    return (_cache.get((name, kind)) or registry().resolve(name, kind)).entry


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
