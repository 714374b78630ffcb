"""``kreg check``: contract checks of names, plugins or the whole catalogue (exit 1 on failure)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable

from kreg.registry.checking import check_many
from kreg.ui.describe import chosen_entries
from kreg.ui.tables import table

PARALLEL_FROM = 64
"""Entries from which ``kreg check`` spreads the work over processes by default: each
worker imports TensorFlow (~4 s here), which only pays off for long runs (measured on 2
cores: 21 entries 5.3 s in one process, 8.7 s in two; 128 entries 22.9 s and 18.3 s)."""


def _progress_bar(total: int) -> Callable[[int, str], None]:
    """A progress bar on stderr when it is a terminal (nothing otherwise)."""

    def show(done: int, label: str) -> None:
        if not sys.stderr.isatty():
            return
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} {label[:40]:<40}")
        if done == total:
            sys.stderr.write("\r" + " " * (width + 50) + "\r")
        sys.stderr.flush()

    return show


def command_check(arguments: argparse.Namespace) -> int:
    """``kreg check NAME | --plugin P | --all [--kind K] [--json] [-v] [-j N]``: contract checks."""
    found = chosen_entries(arguments.name, arguments.plugin, arguments.all, arguments.kind)
    jobs = arguments.jobs or (min(os.cpu_count() or 1, 4) if len(found) >= PARALLEL_FROM else 1)
    started = time.perf_counter()
    # What the components print (a library announcing itself at import) goes to stderr, so
    # that --json output stays valid JSON.
    with contextlib.redirect_stdout(sys.stderr) if arguments.json else contextlib.nullcontext():
        reports = check_many(found, jobs, progress=_progress_bar(len(found)))
    wall = time.perf_counter() - started
    failed = [r for r in reports if not r.ok]
    if arguments.json:
        print(json.dumps({"ok": not failed, "reports": [r.as_dict() for r in reports]}, indent=2))
        return 1 if failed else 0
    rows = []
    for entry, report in zip(found, reports):
        counts = report.counts()
        rows.append(
            [
                entry.qualified_name,
                entry.kind,
                "ok" if report.ok else "FAILED",
                str(counts["pass"]),
                str(counts["warn"]),
                str(counts["fail"]),
                f"{report.seconds:.2f}",
            ]
        )
    print(table(rows, ["ENTRY", "KIND", "RESULT", "PASS", "WARN", "FAIL", "SECONDS"]))
    for report in reports:
        if not report.ok or arguments.verbose or len(reports) == 1:
            print()
            print(report)
    total = sum(r.seconds for r in reports)
    processes = f" in {jobs} processes" if jobs > 1 else ""
    print(
        f"\n{len(reports) - len(failed)}/{len(reports)} passed: {total:.1f} s of checks, "
        f"{wall:.1f} s wall{processes}."
    )
    return 1 if failed else 0
