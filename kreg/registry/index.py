"""The index of a catalogue: spellings -> entries, ranking, preferences, conflicts, suggestions."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, NamedTuple

from kreg.errors import AmbiguousComponentError, ConfigError, UnknownComponentError
from kreg.names import KINDS, check_kind, normalize, suggest
from kreg.registry.entry import Entry


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


class Index:
    """Index of every registered entry, by kind and normalised spelling.

    One index serves one generation of the catalogue: :meth:`kreg.reload` builds a new
    one. ``cache`` holds resolved ``(name, kind)`` pairs; anything that changes what a
    name means (new entries, a preference) clears it.

    Example:
        >>> index = Index()
        >>> index.add_plugin_entries("demo", [Entry("twice", "loss", "demo.mod:twice", "demo")])
        >>> index.resolve("Twice").entry.qualified_name
        'demo:twice'
    """

    def __init__(self) -> None:
        self.entries_list: list[Entry] = []
        self.plugin_order: dict[str, int] = {}
        self.cache: dict[tuple[str, str | None], Candidate] = {}
        self._by_key: dict[str, dict[str, list[Candidate]]] = {}
        self._by_exact: dict[str, dict[str, list[Candidate]]] = {}
        self._pins: dict[str, str] = {}
        self._preferred_plugins: list[str] = []

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
            self._add(self._by_key, normalize(candidate.spelling), candidate)
        own_keys = {normalize(c.spelling) for c in plain}
        for alias in entry.legacy_aliases:
            candidate = Candidate(entry, alias, deprecated=True)
            if normalize(alias) in own_keys or normalize(alias) == canonical:
                self._add(self._by_exact, alias, candidate)
            else:
                self._add(self._by_key, normalize(alias), candidate)

    def _add(
        self, table: dict[str, dict[str, list[Candidate]]], key: str, candidate: Candidate
    ) -> None:
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
            by_kind = self._by_exact.get(name) or self._by_key.get(normalize(name), {})
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
            known = self._by_exact.get(name) or self._by_key.get(normalize(name), {})
            elsewhere = [k for k in KINDS if k != kind and k in known]
            if elsewhere:
                error.args = (
                    f"{error.args[0].split(' Run ')[0]} {name!r} is a {elsewhere[0]}, "
                    f"not a {kind}: use it as a {elsewhere[0]} or choose a {kind}.",
                )
        return error

    def _qualified(self, plugin_key: str, name_key: str) -> dict[str, list[Candidate]]:
        by_kind: dict[str, list[Candidate]] = {}
        for kind, candidates in self._by_key.get(name_key, {}).items():
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
                for spelling in entry.spellings:
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
                if any(fnmatch.fnmatchcase(s.lower(), lowered) for s in e.spellings)
                or fnmatch.fnmatchcase(e.qualified_name.lower(), lowered)
            ]
        return sorted(found, key=lambda e: (KINDS.index(e.kind), e.name, e.plugin))

    def conflicts(self) -> list[Conflict]:
        """Spellings that more than one plugin registered for the same kind."""
        found: list[Conflict] = []
        for key, by_kind in self._by_key.items():
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


def _shown(entry: Entry, spelling: str) -> str:
    return entry.name if normalize(spelling) == normalize(entry.name) else spelling
