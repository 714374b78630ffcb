"""How kreg describes entries, plugins and their troubles: one source for CLI, magics, widgets."""

from __future__ import annotations

from typing import Any

from kreg.errors import KregError
from kreg.names import normalize
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry


def entry_details(entry: Entry) -> dict[str, Any]:
    """What ``kreg list --json`` says of an entry (``kreg show`` adds :func:`signature`).

    Example:
        >>> import kreg
        >>> details = entry_details(kreg.lookup("huber"))
        >>> details["qualified_name"], details["target"], details["rejected"]
        ('keras:huber', 'keras.losses.Huber', None)
    """
    return {
        "name": entry.name,
        "kind": entry.kind,
        "qualified_name": entry.qualified_name,
        "plugin": entry.plugin,
        "plugin_version": entry.plugin_version,
        "target": entry.public_path,
        "aliases": list(entry.aliases),
        "legacy_aliases": list(entry.legacy_aliases),
        "tags": list(entry.tags),
        "defects": {tag: reason for tag, reason in entry.defects},
        "repaired": repaired_arguments(entry),
        "expects": entry.expects.describe() if entry.expects else None,
        "summary": entry.summary,
        "rejected": entry.rejection,
    }


def repaired_arguments(entry: Entry) -> list[str]:
    """Arguments kreg adds to the entry's ``get_config`` (its class drops them); [] when the
    entry is not imported yet. Prepares the entry as its first use would (quietly).

    Example:
        >>> import kreg
        >>> repaired_arguments(kreg.lookup("mean_squared_error", "loss"))
        []
    """
    from kreg.registry import build

    if not entry.is_loaded:
        return []
    try:
        build.factory(entry)
    except KregError:  # rejected or unbuildable: nothing was repaired
        return []
    return list(getattr(entry.load(), "__dict__", {}).get("_kreg_repaired", ()))


def signature(entry: Entry) -> str:
    """The entry's name with its arguments and defaults (imports its target).

    Example:
        >>> import kreg
        >>> signature(kreg.lookup("huber"))
        "huber(delta=1.0, reduction='sum_over_batch_size', name='huber_loss', dtype=None)"
    """
    return f"{entry.name}{entry.parameters().signature}"


def summary_or_rejection(entry: Entry) -> str:
    """The entry's summary, or why the structural contract rejects it (known once imported).

    Example:
        >>> import kreg
        >>> summary_or_rejection(kreg.lookup("huber"))
        'Computes the Huber loss between `y_true` & `y_pred`.'
    """
    rejection = entry.rejection
    return f"REJECTED: {rejection}" if rejection else entry.summary


def entries_of_plugins(plugins: str, kind: str | None = None) -> list[Entry]:
    """Entries of the comma-separated ``plugins`` (spelled as loosely as entry names).

    Raises:
        KregError: none of them provides an entry (the message lists the plugins).

    Example:
        >>> [e.qualified_name for e in entries_of_plugins("Keras", "schedule")][:1]
        ['keras:cosine_decay']
    """
    named = sorted({p.strip() for p in plugins.split(",") if p.strip()})
    wanted = {normalize(p) for p in named}
    found = [e for e in CATALOG.entries(kind) if normalize(e.plugin) in wanted]
    if not found:
        known = sorted({e.plugin for e in CATALOG.entries()})
        raise KregError(f"no entries from plugin(s) {named}; plugins: {known}")
    return found


def entries_import_seconds(plugin: str) -> float:
    """What importing ``plugin``'s lazy entries has cost in this process so far.

    Plugins register ``"module:Name"`` strings so that loading them is cheap; the library
    behind them is imported when an entry is first used, and this is that cost.

    Example:
        >>> entries_import_seconds("no_such_plugin")
        0.0
    """
    from kreg.registry import build

    return sum((build.import_seconds(e) for e in CATALOG.entries() if e.plugin == plugin), 0.0)


def failed_plugin_entries(skip: set[str]) -> list[Entry]:
    """Third-party entries whose import or build (with no arguments) failed in this process.

    Example:
        >>> failed_plugin_entries(skip=set())
        []
    """
    return [
        e
        for e in CATALOG.entries()
        if not e.is_builtin and e.failure and e.qualified_name not in skip
    ]


def rejected_plugin_entries(load: bool) -> tuple[list[tuple[Entry, str]], int]:
    """Third-party entries failing the structural checks, and how many were not checked.

    Only entries whose target is already imported are checked, unless ``load``.

    Example:
        >>> rejected, unchecked = rejected_plugin_entries(load=True)
        >>> rejected
        []
    """
    found, unchecked = [], 0
    for entry in CATALOG.entries():
        if entry.is_builtin:
            continue
        if not (load or entry.is_loaded):
            unchecked += 1
            continue
        try:
            entry.load()
        except KregError as error:
            found.append((entry, str(error)))
            continue
        if entry.rejection:
            found.append((entry, entry.rejection))
    return found, unchecked


def chosen_entries(
    name: str | None, plugins: str | None, everything: bool, kind: str | None
) -> list[Entry]:
    """The entries ``check NAME | --plugin P | --all [--kind K]`` names (CLI and ``%kreg``).

    Raises:
        KregError: nothing is chosen, or no entry matches.

    Example:
        >>> [e.qualified_name for e in chosen_entries("Huber", None, False, None)]
        ['keras:huber']
    """
    if plugins:
        return entries_of_plugins(plugins, kind)
    if everything:
        return CATALOG.entries(kind)
    if name:
        return [CATALOG.lookup(name, kind)]
    raise KregError("give a NAME, --plugin P or --all")
