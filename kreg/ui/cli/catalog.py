"""``kreg list`` and ``kreg show``: the catalogue, without importing TensorFlow for listing."""

from __future__ import annotations

import argparse
import json

from kreg.registry.catalog import CATALOG
from kreg.ui.describe import entry_details, signature, summary_or_rejection
from kreg.ui.tables import table


def command_list(arguments: argparse.Namespace) -> int:
    """``kreg list [--kind K] [PATTERN] [--json]``."""
    found = CATALOG.entries(arguments.kind, arguments.pattern)
    if arguments.json:
        print(json.dumps([entry_details(e) for e in found], indent=2))
        return 0
    rows = [[e.name, e.kind, e.plugin, summary_or_rejection(e)] for e in found]
    print(table(rows, ["NAME", "KIND", "PROVIDER", "SUMMARY"]))
    print(f"\n{len(found)} entries. `kreg show NAME` for details.")
    return 0


def command_show(arguments: argparse.Namespace) -> int:
    """``kreg show NAME [--kind K] [--json]``: kind, provider, signature, aliases, summary."""
    entry = CATALOG.lookup(arguments.name, arguments.kind)
    shown = signature(entry)  # imports the target, so the details below are complete
    details = {**entry_details(entry), "signature": shown}
    if arguments.json:
        print(json.dumps(details, indent=2))
        return 0
    labels = {
        "name": "Name",
        "kind": "Kind",
        "qualified_name": "Qualified name",
        "plugin": "Provider",
        "target": "Target",
        "signature": "Signature",
        "aliases": "Aliases",
        "legacy_aliases": "Keras 2 names",
        "tags": "Tags",
        "defects": "Known defects",
        "repaired": "Repaired",
        "expects": "Expects",
        "summary": "Summary",
    }
    details["plugin"] = f"{entry.plugin} {entry.plugin_version or ''}".strip()
    for key, label in labels.items():
        value = details[key]
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        elif value is None:
            value = "-"
        print(f"{label + ':':<16}{value}")
    return 0
