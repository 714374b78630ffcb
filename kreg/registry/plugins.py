"""Plugin discovery: the built-in catalogue plus entry points, each failure isolated.

pluggy's ``load_setuptools_entrypoints`` stops at the first broken plugin, so
kreg loads entry points one at a time, registers each with a pluggy
``PluginManager`` (which validates hook names and arguments against
:mod:`kreg.registry.hookspecs`), and calls each plugin's hooks separately with its own
``register``. A plugin's entries are committed only if all its hooks succeed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from kreg import settings
from kreg.names import BUILTIN_PLUGIN, normalize
from kreg.registry import hookspecs
from kreg.registry.entry import Entry
from kreg.registry.index import Index
from kreg.registry.registration import registrar
from kreg.versions import installed_version

ENTRY_POINT_GROUP = "kreg"
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = ((BUILTIN_PLUGIN, "kreg.registry.builtin"),)
SLOW_IMPORT_SECONDS = 1.0
"""A plugin whose import takes at least this long is flagged as slow by ``kreg plugins``."""


@dataclass
class PluginInfo:
    """What happened to one plugin: where it came from, what it gave, how it failed.

    Example:
        >>> import kreg
        >>> info = kreg.plugins()[0]
        >>> info.name, info.status, info.slow
        ('keras', 'ok', False)
    """

    name: str
    version: str | None
    source: str
    module: str
    status: str = "ok"
    load_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None

    @property
    def slow(self) -> bool:
        """Whether importing the plugin took :data:`SLOW_IMPORT_SECONDS` or more.

        Example:
            >>> PluginInfo("p", None, "test", "p", load_seconds=10.0).slow
            True
        """
        return self.load_seconds >= SLOW_IMPORT_SECONDS

    @property
    def note(self) -> str | None:
        """Advice about a slow import (None when the import was quick).

        Example:
            >>> PluginInfo("p", None, "test", "p", load_seconds=10.0).note[:34]
            "importing plugin 'p' took 10.0 s ("
        """
        if not self.slow:
            return None
        return (
            f"importing plugin {self.name!r} took {self.load_seconds:.1f} s (slow: "
            f"{SLOW_IMPORT_SECONDS:.1f} s or more), and every process that uses kreg waits "
            "for it. Import heavy modules inside the components (register lazy "
            f"'module:Name' strings), or hide it with KREG_DISABLE_PLUGINS={self.name}."
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``kreg plugins --json``).

        Example:
            >>> info = PluginInfo("p", "1.0", "test", "p", load_seconds=2.5).as_dict()
            >>> info["status"], info["slow"]
            ('ok', True)
        """
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "module": self.module,
            "status": self.status,
            "load_seconds": round(self.load_seconds, 6),
            "slow": self.slow,
            "note": self.note,
            "counts": self.counts,
            "error": self.error,
            "traceback": self.traceback,
        }


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted(found, key=lambda ep: (normalize(ep.name), ep.value))


def load_plugins(index: Index) -> list[PluginInfo]:
    """Discover, load and register every plugin into ``index``; never raises for a plugin.

    ``KREG_PLUGINS`` (comma-separated) limits third-party plugins to those
    named (set but empty: built-ins only); ``KREG_DISABLE_PLUGINS`` skips the
    ones named (see :mod:`kreg.settings`).

    Example:
        >>> infos = load_plugins(Index())
        >>> infos[0].name, infos[0].counts["loss"] > 10
        ('keras', True)
    """
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    for name, module_name in BUILTIN_PLUGINS:
        info = PluginInfo(name, installed_version(name), "built-in", module_name)
        infos.append(info)
        _load_one(manager, index, info, functools.partial(importlib.import_module, module_name))
    allowed = settings.allowed_plugins()
    denied = settings.disabled_plugins()
    seen = {normalize(info.name) for info in infos}
    for entry_point in _entry_points():
        dist = getattr(entry_point, "dist", None)
        info = PluginInfo(
            entry_point.name,
            dist.version if dist else None,
            f"entry point of {dist.name if dist else 'unknown distribution'}",
            entry_point.value,
        )
        infos.append(info)
        key = normalize(entry_point.name)
        if (allowed is not None and key not in allowed) or key in denied:
            info.status = "disabled"
            continue
        if key in seen:
            info.status = "failed"
            info.error = (
                f"another plugin is already called {entry_point.name!r}; "
                "rename this entry point or uninstall one of them"
            )
            continue
        seen.add(key)
        _load_one(manager, index, info, entry_point.load)
    return infos


def _load_one(
    manager: pluggy.PluginManager, index: Index, info: PluginInfo, load: Callable[[], ModuleType]
) -> None:
    started = time.perf_counter()
    try:
        module = load()
    except (Exception, SystemExit) as error:
        info.load_seconds = time.perf_counter() - started
        _fail(info, f"import failed: {type(error).__name__}: {error}")
        return
    info.load_seconds = time.perf_counter() - started
    try:
        manager.register(module, name=info.name)
        unknown = [c.name for c in manager.get_hookcallers(module) or [] if c.spec is None]
        if unknown:
            raise pluggy.PluginValidationError(
                module,
                f"unknown hook {unknown[0]!r}; kreg's hooks are {sorted(hookspecs.HOOK_KINDS)}",
            )
    except Exception as error:
        if manager.is_registered(module):
            manager.unregister(module)
        _fail(info, f"invalid plugin: {error}")
        return
    staged: list[Entry] = []
    hook_name = "a hook"
    try:
        for hook_name, kind in hookspecs.HOOK_KINDS.items():
            for implementation in getattr(manager.hook, hook_name).get_hookimpls():
                if implementation.plugin is module:
                    register = registrar(kind, info.name, info.version, staged)
                    arguments = {"register": register}
                    implementation.function(*[arguments[a] for a in implementation.argnames])
    except (Exception, SystemExit) as error:
        manager.unregister(module)
        _fail(info, f"{type(error).__name__} in its {hook_name} hook: {error}")
        return
    index.add_plugin_entries(info.name, staged)
    for entry in staged:
        info.counts[entry.kind] = info.counts.get(entry.kind, 0) + 1


def _fail(info: PluginInfo, message: str) -> None:
    info.status = "failed"
    info.error = message
    info.traceback = traceback.format_exc()
