"""``kreg plugins``: what each plugin gave, and every failure, rejection and name conflict."""

from __future__ import annotations

import argparse
import json

from kreg.names import KINDS
from kreg.registry.catalog import CATALOG
from kreg.ui.describe import (
    entries_import_seconds,
    failed_plugin_entries,
    rejected_plugin_entries,
)
from kreg.ui.tables import table


def command_plugins(arguments: argparse.Namespace) -> int:
    """``kreg plugins [--json] [--check]``: plugins, failures, conflicts and rejected entries.

    Also flags plugins that are slow to import and plugin entries that failed when used.
    """
    infos = CATALOG.plugins()
    rejected, unchecked = rejected_plugin_entries(load=arguments.check)
    failed = failed_plugin_entries(skip={e.qualified_name for e, _ in rejected})
    conflicts = CATALOG.index().conflicts()  # after the checks: a rejected entry wins nothing
    if arguments.json:
        print(
            json.dumps(
                {
                    "plugins": [
                        {
                            **info.as_dict(),
                            "entries_import_seconds": entries_import_seconds(info.name),
                        }
                        for info in infos
                    ],
                    "rejected": [
                        {"entry": e.qualified_name, "kind": e.kind, "reason": reason}
                        for e, reason in rejected
                    ],
                    "failed_entries": [
                        {"entry": e.qualified_name, "kind": e.kind, "reason": e.failure}
                        for e in failed
                    ],
                    "conflicts": [
                        {
                            "kind": c.kind,
                            "name": c.spelling,
                            "winner": c.winner.qualified_name,
                            "others": [e.qualified_name for e in c.others],
                        }
                        for c in conflicts
                    ],
                },
                indent=2,
            )
        )
        return 0
    rows = [
        [
            info.name,
            info.version or "-",
            info.status,
            *(str(info.counts.get(kind, 0)) for kind in KINDS),
            f"{info.load_seconds * 1000:.1f}",
            f"{entries_import_seconds(info.name) * 1000:.1f}",
            info.source,
        ]
        for info in infos
    ]
    headers = ["PLUGIN", "VERSION", "STATUS", "LOSSES", "METRICS", "OPTIMIZERS", "SCHEDULES"]
    print(table(rows, [*headers, "LOAD MS", "ENTRIES MS", "SOURCE"]))
    for info in infos:
        if info.status == "failed":
            print(f"\nPlugin {info.name!r} failed and was skipped: {info.error}")
            print(
                "  The other plugins and the built-ins are unaffected. Fix or upgrade the "
                f"plugin, or hide it with KREG_DISABLE_PLUGINS={info.name}."
            )
            if info.traceback and info.traceback.strip() != "NoneType: None":
                print("  " + info.traceback.rstrip().replace("\n", "\n  "))
        elif info.status == "disabled":
            print(f"\nPlugin {info.name!r} is disabled by KREG_PLUGINS / KREG_DISABLE_PLUGINS.")
        if info.slow:
            print(f"\nPlugin {info.name!r} is slow to import: {info.note}")
    if failed:
        print("\nPlugin entries that failed when used (the plugins' other entries still work):")
        for entry in failed:
            print(f"  {entry.kind} {entry.qualified_name}: {entry.failure}")
    if rejected:
        print("\nRejected by the structural contract (never handed out; `kreg check NAME`):")
        for entry, reason in rejected:
            print(f"  {entry.kind} {entry.qualified_name}: {reason}")
    if unchecked:
        print(
            f"\n{unchecked} plugin entries are not imported yet, so not checked; "
            "`kreg plugins --check` imports and checks them."
        )
    if conflicts:
        print(
            "\nName conflicts (the first provider wins; pin another with KREG_PREFER=plugin:name):"
        )
        for conflict in conflicts:
            others = ", ".join(e.qualified_name for e in conflict.others)
            print(
                f"  {conflict.kind} {conflict.spelling!r}: {conflict.winner.qualified_name} "
                f"wins over {others}"
            )
    return 0
