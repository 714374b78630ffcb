"""Entries, the registry that indexes them, collisions and preferences."""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kreg.errors import (
    AmbiguousComponentError,
    ComponentLoadError,
    ConfigError,
    KregError,
    RegistrationError,
    UnknownComponentError,
)
from kreg.names import KINDS, canonical_name, check_kind, normalize, suggest
from kreg.sources import summary_of_target

BUILTIN_PLUGIN = "keras"


@dataclass(eq=False)
class Entry:
    """One registered component: what it is called, what it is, who provides it.

    Entries are read-only once built: no plugin (or other code) can change what
    another component's name means; kreg keeps its own caches with
    ``object.__setattr__``.

    Example:
        >>> import kreg
        >>> entry = kreg.lookup("Huber")
        >>> entry.name, entry.kind, entry.plugin, entry.qualified_name
        ('huber', 'loss', 'keras', 'keras:huber')
        >>> entry.target = "evil:Huber"
        Traceback (most recent call last):
        ...
        AttributeError: kreg entries are read-only: ...
    """

    name: str
    kind: str
    target: Any
    plugin: str
    plugin_version: str | None = None
    aliases: tuple[str, ...] = ()
    legacy_aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    example: Callable[[], tuple[Any, Any]] | None = None
    _summary: str | None = field(default=None, repr=False)
    _loaded: Any = field(default=None, repr=False)
    _factory: Callable[..., Any] | None = field(default=None, repr=False)
    _structural: Any = field(default=None, repr=False)
    _failure: tuple[str, str] | None = field(default=None, repr=False)  # (stage, why)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sealed", True)

    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse_change(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._refuse_change(name)
        object.__delattr__(self, name)

    def _refuse_change(self, name: str) -> None:
        if self.__dict__.get("_sealed"):
            raise AttributeError(
                f"kreg entries are read-only: {self.qualified_name}.{name} cannot be changed. "
                "Register your own component in a plugin hook and pin it with kreg.prefer() "
                "or KREG_PREFER instead."
            )

    @property
    def qualified_name(self) -> str:
        """``plugin:name``, which always reaches this entry, whatever else is installed."""
        return f"{self.plugin}:{self.name}"

    @property
    def target_path(self) -> str:
        """Dotted import path of the target, e.g. ``keras.src.losses.losses.Huber``."""
        if isinstance(self.target, str):
            return self.target.replace(":", ".")
        return f"{self.target.__module__}.{self.target.__qualname__}"

    @property
    def public_path(self) -> str:
        """Where users know the target from: ``keras.losses.Huber`` rather than ``keras.src...``."""
        path = self.target_path
        if path.startswith("keras.src."):
            modules, _, attribute = path.removeprefix("keras.src.").rpartition(".")
            return ".".join(["keras", *modules.split(".")[:-1], attribute])
        return path

    @property
    def failure(self) -> str | None:
        """Why the last use of this entry failed to import or build it (without arguments).

        ``kreg plugins`` lists these for plugin entries.

        Example:
            >>> import kreg
            >>> kreg.lookup("huber").failure is None
            True
        """
        return self._failure[1] if self._failure else None

    @property
    def is_loaded(self) -> bool:
        """Whether the target has been imported already."""
        return self._loaded is not None or not isinstance(self.target, str)

    @property
    def summary(self) -> str:
        """First line of the target's docstring, read without importing lazy targets."""
        if self._summary is None:
            if self.is_loaded:
                doc = inspect.getdoc(self.load()) or ""
                object.__setattr__(self, "_summary", doc.strip().split("\n", 1)[0])
            else:
                object.__setattr__(self, "_summary", summary_of_target(self.target))
        return self._summary

    def load(self) -> Any:
        """Import and return the class or function behind this entry.

        Raises:
            ComponentLoadError: the plugin's module or attribute cannot be imported.
        """
        if self._loaded is not None:
            return self._loaded
        if not isinstance(self.target, str):
            object.__setattr__(self, "_loaded", self.target)
            return self._loaded
        module_name, _, attribute = self.target.partition(":")
        try:
            loaded = getattr(importlib.import_module(module_name), attribute)
        except Exception as error:
            raise ComponentLoadError(
                f"{self.kind} {self.qualified_name!r}: plugin {self.plugin!r} registered "
                f"{self.target!r}, which cannot be imported ({type(error).__name__}: {error}). "
                f"Fix or reinstall the plugin, or hide it with KREG_DISABLE_PLUGINS={self.plugin}."
            ) from error
        object.__setattr__(self, "_loaded", loaded)
        return loaded

    def structural_report(self) -> Any:
        """The structural contract checks of this entry (imports its target; cached).

        Example:
            >>> import kreg
            >>> kreg.lookup("huber").structural_report().ok
            True
        """
        if self._structural is None:
            from kreg.contracts.structural import structural_report

            subject = f"{self.kind} {self.qualified_name!r}"
            report = structural_report(self.load(), self.kind, subject)
            object.__setattr__(self, "_structural", report)
        return self._structural

    @property
    def rejection(self) -> str | None:
        """Why the structural contract refuses this entry; None if it passes or is not loaded.

        A rejected entry is never handed out: :func:`kreg.get` raises
        :class:`~kreg.errors.ContractError`, and another provider of the same
        name wins the plain name.
        """
        if not self.is_loaded:
            return None
        report = self.structural_report()
        return None if report.ok else "; ".join(r.message for r in report.failures)

    def create(self, config: dict[str, Any]) -> Any:
        """Build a ready-to-use instance (see :func:`kreg.get`).

        Raises only kreg's errors: whatever the component's own code raises
        while being built comes back as a :class:`~kreg.errors.ConfigError`
        naming the entry (and its plugin).

        Example:
            >>> import kreg
            >>> type(kreg.lookup("huber").create({"delta": 2.0})).__name__
            'Huber'
        """
        try:
            built = self._create(config)
        except KregError:
            raise
        except Exception as error:
            raise self._build_error(config, error) from error
        if self._failure and not config:
            object.__setattr__(self, "_failure", None)
        return built

    def _build_error(self, config: dict[str, Any], error: Exception) -> KregError:
        if isinstance(error, (TypeError, ValueError)):
            from kreg.factory import explain_config_error

            try:
                return explain_config_error(self, config, error)
            except Exception:  # explaining must not fail in its turn (an unprintable value)
                pass
        try:
            detail = f"{type(error).__name__}: {error}"
        except Exception:
            detail = type(error).__name__
        detail = detail if len(detail) <= 300 else detail[:299] + "…"
        if not config:  # with the component's own defaults: the component's fault
            object.__setattr__(self, "_failure", ("build", f"raised {detail} when built"))
        arguments = f" with {', '.join(map(str, config))}=..." if config else ""
        hint = (
            f" Report it to the plugin {self.plugin!r}, or hide it with "
            f"KREG_DISABLE_PLUGINS={self.plugin}."
            if self.plugin != BUILTIN_PLUGIN
            else ""
        )
        return ConfigError(
            f"{self.kind} {self.qualified_name!r} ({self.target_path}) could not be "
            f"built{arguments}: {detail}.{hint}",
            component=self.qualified_name,
        )

    def _create(self, config: dict[str, Any]) -> Any:
        factory = self._factory
        if factory is None:
            from kreg.factory import make_factory

            try:
                self.load()
            except ComponentLoadError as error:
                cause = error.__cause__
                why = f"{self.target!r} cannot be imported ({type(cause).__name__}: {cause})"
                object.__setattr__(self, "_failure", ("load", why))
                raise
            if self.rejection:
                from kreg.errors import ContractError

                raise ContractError(
                    f"{self.kind} {self.qualified_name!r} ({self.target_path}) does not follow "
                    f"the Keras {self.kind} contract, so kreg does not hand it out: "
                    f"{self.rejection}. Run `kreg check {self.qualified_name}` for the report; "
                    f"fix the plugin {self.plugin!r} or hide it with "
                    f"KREG_DISABLE_PLUGINS={self.plugin}.",
                    report=self.structural_report(),
                )

            factory = make_factory(self)
            object.__setattr__(self, "_factory", factory)
        if config:
            from kreg.factory import create_with_config

            return create_with_config(self, factory, config)
        return factory()  # create() explains a failure


class Candidate(NamedTuple):
    """One way a spelling reaches an entry."""

    entry: Entry
    spelling: str
    deprecated: bool = False


@dataclass
class Conflict:
    """Several providers registered the same spelling for the same kind."""

    kind: str
    spelling: str
    winner: Entry
    others: list[Entry]


class Registry:
    """Index of every registered entry, by kind and normalised spelling.

    Example:
        >>> registry = Registry()
        >>> registry.add_plugin_entries(
        ...     "demo", [Entry("twice", "loss", "demo.mod:twice", "demo")]
        ... )
        >>> registry.resolve("Twice").entry.qualified_name
        'demo:twice'
    """

    def __init__(self) -> None:
        self.entries_list: list[Entry] = []
        self.plugin_order: dict[str, int] = {}
        self.cache: dict[tuple[str, str | None], Candidate] = {}
        self._index: dict[str, dict[str, list[Candidate]]] = {}
        self._exact: dict[str, dict[str, list[Candidate]]] = {}
        self._pins: dict[str, str] = {}
        self._preferred_plugins: list[str] = []

    # -- building -------------------------------------------------------
    def registrar(
        self, kind: str, plugin: str, version: str | None, staged: list[Entry]
    ) -> Callable[..., None]:
        """Return the ``register`` callable handed to one plugin's hook for ``kind``."""

        def register(
            obj: Any,
            name: str | None = None,
            *,
            aliases: Any = (),
            example: Callable[[], tuple[Any, Any]] | None = None,
            tags: Any = (),
            legacy_aliases: Any = (),
        ) -> None:
            entry = _make_entry(
                kind, plugin, version, obj, name, aliases, example, tags, legacy_aliases
            )
            taken = {normalize(s) for e in staged if e.kind == kind for s in _spellings(e)}
            implicit = entry.aliases[:1] if entry.aliases[:1] == (_object_name(obj),) else ()
            if implicit and normalize(implicit[0]) in taken:
                object.__setattr__(entry, "aliases", entry.aliases[1:])
            clash = [s for s in (entry.name, *entry.aliases) if normalize(s) in taken]
            if clash:
                raise RegistrationError(
                    f"plugin {plugin!r} registered the {kind} name {clash[0]!r} twice; "
                    "give each component its own name and aliases."
                )
            staged.append(entry)

        return register

    def add_plugin_entries(self, plugin: str, entries: list[Entry]) -> None:
        """Add all entries of one plugin (plugins are ranked in the order they are added)."""
        self.plugin_order.setdefault(plugin, len(self.plugin_order))
        for entry in entries:
            self.entries_list.append(entry)
            self._index_entry(entry)
        self.cache.clear()

    def _index_entry(self, entry: Entry) -> None:
        canonical = normalize(entry.name)
        plain = [Candidate(entry, entry.name)] + [Candidate(entry, a) for a in entry.aliases]
        for candidate in plain:
            self._add(self._index, normalize(candidate.spelling), candidate)
        own_keys = {normalize(c.spelling) for c in plain}
        for alias in entry.legacy_aliases:
            candidate = Candidate(entry, alias, deprecated=True)
            if normalize(alias) in own_keys or normalize(alias) == canonical:
                self._add(self._exact, alias, candidate)
            else:
                self._add(self._index, normalize(alias), candidate)

    def _add(self, table: dict, key: str, candidate: Candidate) -> None:
        by_kind = table.setdefault(key, {})
        candidates = by_kind.setdefault(candidate.entry.kind, [])
        candidates.append(candidate)
        candidates.sort(key=self._rank)

    def _rank(self, candidate: Candidate) -> tuple[int, int, int]:
        entry = candidate.entry
        is_alias = normalize(candidate.spelling) != normalize(entry.name)
        return (self.plugin_order.get(entry.plugin, 1 << 30), candidate.deprecated, is_alias)

    # -- preferences ------------------------------------------------------
    def prefer(self, choice: str) -> None:
        """Pin ``plugin:name`` (one name) or ``plugin`` (all its names) over the default winner.

        Example:
            >>> import kreg
            >>> kreg.prefer("keras:huber")  # the built-in already wins; pinning is explicit
        """
        plugin, sep, name = choice.partition(":")
        plugins = {normalize(p): p for p in self.plugin_order}
        if normalize(plugin) not in plugins:
            raise UnknownComponentError(
                choice, None, [f"{p}:" if sep else p for p in suggest(plugin, plugins)]
            )
        if sep:
            self.resolve(choice)  # raises if that plugin has no such name
            self._pins[normalize(name)] = plugins[normalize(plugin)]
        else:
            self._preferred_plugins.insert(0, plugins[normalize(plugin)])
        self.cache.clear()

    def _choose(self, candidates: list[Candidate], key: str) -> Candidate:
        candidates = [c for c in candidates if not c.entry.rejection] or candidates
        pinned = self._pins.get(key)
        for plugin in ([pinned] if pinned else []) + self._preferred_plugins:
            for candidate in candidates:
                if candidate.entry.plugin == plugin:
                    return candidate
        return candidates[0]

    # -- lookups ------------------------------------------------------------
    def resolve(self, name: str, kind: str | None = None) -> Candidate:
        """Find what ``name`` means (optionally within one ``kind``).

        Raises:
            UnknownComponentError: nothing is registered under that name.
            AmbiguousComponentError: several kinds use the name and ``kind`` is None.
            ConfigError: ``name`` is not a string or ``kind`` is not a kind.
        """
        if not isinstance(name, str):
            raise ConfigError(
                f"Expected a component name (str). Received: name={_short_repr(name)}",
                component=type(name).__name__,
                argument="name",
            )
        cache_key = (name, kind)
        try:
            found = self.cache.get(cache_key)
        except TypeError:  # an unhashable kind: check_kind() explains
            found = None
        if found is not None:
            return found
        wanted = check_kind(kind)
        plugin, sep, rest = name.partition(":")
        if sep:
            by_kind = self._qualified(normalize(plugin), normalize(rest))
        else:
            by_kind = self._exact.get(name) or self._index.get(normalize(name), {})
        if wanted is not None:
            by_kind = {wanted: by_kind[wanted]} if wanted in by_kind else {}
        if not by_kind:
            raise self._unknown(name, wanted)
        if len(by_kind) > 1:
            raise AmbiguousComponentError(name, [k for k in KINDS if k in by_kind])
        (candidates,) = by_kind.values()
        found = self._choose(candidates, normalize(rest if sep else name))
        self.cache[cache_key] = found
        return found

    def _unknown(self, name: str, kind: str | None) -> UnknownComponentError:
        error = UnknownComponentError(name, kind, self.suggestions(name, kind))
        if kind is not None:
            known = self._exact.get(name) or self._index.get(normalize(name), {})
            elsewhere = [k for k in KINDS if k != kind and k in known]
            if elsewhere:
                error.args = (
                    f"{error.args[0].split(' Run ')[0]} {name!r} is a {elsewhere[0]}, "
                    f"not a {kind}: use it as a {elsewhere[0]} or choose a {kind}.",
                )
        return error

    def _qualified(self, plugin_key: str, name_key: str) -> dict[str, list[Candidate]]:
        by_kind: dict[str, list[Candidate]] = {}
        for kind, candidates in self._index.get(name_key, {}).items():
            mine = [c for c in candidates if normalize(c.entry.plugin) == plugin_key]
            if mine:
                by_kind[kind] = mine
        return by_kind

    def suggestions(self, name: str, kind: str | None = None) -> list[str]:
        """Closest registered spellings to ``name``, best first."""
        if not isinstance(name, str):
            return []
        plugin_key = None
        if ":" in name:
            plugin, _, name = name.partition(":")
            plugin_key = normalize(plugin)
            plugins = {normalize(p): p for p in self.plugin_order}
            if plugin_key not in plugins:
                return [f"{p}:{name}" for p in suggest(plugin, plugins)]
        spellings: dict[str, str] = {}
        for entry in self.entries_list:
            if (kind is None or entry.kind == kind) and plugin_key in (
                None,
                normalize(entry.plugin),
            ):
                prefix = f"{entry.plugin}:" if plugin_key else ""
                for spelling in _spellings(entry):
                    spellings.setdefault(normalize(spelling), prefix + _shown(entry, spelling))
        return suggest(name, spellings)

    def entries(self, kind: str | None = None, pattern: str | None = None) -> list[Entry]:
        """Every entry (also those shadowed by a collision), sorted by kind then name."""
        wanted = check_kind(kind)
        if pattern is not None and not isinstance(pattern, str):
            raise ConfigError(
                "pattern must be a string such as '*crossentropy*'. "
                f"Received: {_short_repr(pattern)}",
                component="entries",
                argument="pattern",
            )
        found = [e for e in self.entries_list if wanted is None or e.kind == wanted]
        if pattern:
            lowered = pattern.lower()
            found = [
                e
                for e in found
                if any(fnmatch.fnmatchcase(s.lower(), lowered) for s in _spellings(e))
                or fnmatch.fnmatchcase(e.qualified_name.lower(), lowered)
            ]
        return sorted(found, key=lambda e: (KINDS.index(e.kind), e.name, e.plugin))

    def conflicts(self) -> list[Conflict]:
        """Spellings that more than one plugin registered for the same kind."""
        found: list[Conflict] = []
        for key, by_kind in self._index.items():
            for kind, candidates in by_kind.items():
                entries = list(dict.fromkeys(c.entry for c in candidates))
                if len({e.plugin for e in entries}) > 1:
                    winner = self._choose(candidates, key).entry
                    others = [e for e in entries if e is not winner]
                    found.append(Conflict(kind, candidates[0].spelling, winner, others))
        return sorted(found, key=lambda c: (KINDS.index(c.kind), normalize(c.spelling)))


def _short_repr(value: Any) -> str:
    """A short repr for error messages, whatever the value (huge ints cannot be printed)."""
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:79] + "…"


def _spellings(entry: Entry) -> tuple[str, ...]:
    return (entry.name, *entry.aliases, *entry.legacy_aliases)


def _shown(entry: Entry, spelling: str) -> str:
    return entry.name if normalize(spelling) == normalize(entry.name) else spelling


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


def _make_entry(
    kind: str,
    plugin: str,
    version: str | None,
    obj: Any,
    name: str | None,
    aliases: Any,
    example: Any,
    tags: Any,
    legacy_aliases: Any,
) -> Entry:
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
    else:
        raise RegistrationError(
            f"plugin {plugin!r} registered a {kind} that is neither a class, a function "
            f"nor a 'module:attr' string. Received: {obj!r} ({type(obj).__name__})"
        )
    if name is None:
        name = canonical_name(kind, object_name)
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
    )
