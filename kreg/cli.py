"""The ``kreg`` command: ``list``, ``show``, ``plugins`` and ``check``.

``list`` never imports TensorFlow; ``check`` runs the contract checks.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from kreg import api
from kreg.errors import KregError
from kreg.names import KINDS
from kreg.registry import BUILTIN_PLUGIN, Entry


def table(rows: list[list[str]], headers: list[str], width: int | None = None) -> str:
    """Render rows as an aligned text table, cutting the last column to fit ``width``.

    Example:
        >>> print(table([["huber", "loss"]], ["NAME", "KIND"]))
        NAME   KIND
        huber  loss
    """
    width = width or shutil.get_terminal_size((120, 20)).columns
    cells = [headers, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    lines = []
    for row in cells:
        head = "".join(cell.ljust(w + 2) for cell, w in zip(row, widths))
        last = row[-1]
        room = max(10, width - len(head))
        lines.append((head + (last if len(last) <= room else last[: room - 1] + "…")).rstrip())
    return "\n".join(lines)


def _entry_json(entry: Entry) -> dict[str, Any]:
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
        "summary": entry.summary,
        "rejected": entry.rejection,
    }


def command_list(arguments: argparse.Namespace) -> int:
    """``kreg list [--kind K] [PATTERN] [--json]``."""
    found = api.entries(arguments.kind, arguments.pattern)
    if arguments.json:
        print(json.dumps([_entry_json(e) for e in found], indent=2))
        return 0
    rows = [[e.name, e.kind, e.plugin, _summary_or_rejection(e)] for e in found]
    print(table(rows, ["NAME", "KIND", "PROVIDER", "SUMMARY"]))
    print(f"\n{len(found)} entries. `kreg show NAME` for details.")
    return 0


def _summary_or_rejection(entry: Entry) -> str:
    rejection = entry.rejection  # known without importing anything only for loaded targets
    return f"REJECTED: {rejection}" if rejection else entry.summary


def _signature(entry: Entry) -> str:
    from kreg.factory import make_factory

    factory = make_factory(entry)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return "(...)"
    return f"{entry.name}{signature}"


def command_show(arguments: argparse.Namespace) -> int:
    """``kreg show NAME [--kind K] [--json]``: kind, provider, signature, aliases, summary."""
    entry = api.lookup(arguments.name, arguments.kind)
    details = _entry_json(entry)
    details["signature"] = _signature(entry)
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
        "summary": "Summary",
    }
    details["plugin"] = f"{entry.plugin} {entry.plugin_version or ''}".strip()
    for key, label in labels.items():
        value = details[key]
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        print(f"{label + ':':<16}{value}")
    return 0


def command_plugins(arguments: argparse.Namespace) -> int:
    """``kreg plugins [--json] [--check]``: plugins, failures, conflicts and rejected entries.

    Also flags plugins that are slow to import and plugin entries that failed when used.
    """
    infos = api.plugins()
    rejected, unchecked = _rejected_plugin_entries(load=arguments.check)
    failed = _failed_plugin_entries(skip={e.qualified_name for e, _ in rejected})
    conflicts = api.registry().conflicts()  # after the checks: a rejected entry wins nothing
    if arguments.json:
        print(
            json.dumps(
                {
                    "plugins": [info.as_dict() for info in infos],
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
            info.source,
        ]
        for info in infos
    ]
    headers = ["PLUGIN", "VERSION", "STATUS", "LOSSES", "METRICS", "OPTIMIZERS", "SCHEDULES"]
    print(table(rows, [*headers, "LOAD MS", "SOURCE"]))
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


def _failed_plugin_entries(skip: set[str]) -> list[Entry]:
    """Third-party entries whose import or build (with no arguments) failed in this process."""
    return [
        e
        for e in api.entries()
        if e.plugin != BUILTIN_PLUGIN and e.failure and e.qualified_name not in skip
    ]


def _rejected_plugin_entries(load: bool) -> tuple[list[tuple[Entry, str]], int]:
    """Third-party entries failing the structural checks, and how many were not checked.

    Only entries whose target is already imported are checked, unless ``load``.
    """
    found, unchecked = [], 0
    for entry in api.entries():
        if entry.plugin == "keras":
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


def _progress(done: int, total: int, label: str) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{total} {label[:40]:<40}")
    if done == total:
        sys.stderr.write("\r" + " " * (width + 50) + "\r")
    sys.stderr.flush()


def _check_in_worker(names: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Check entries by (qualified name, kind) in a worker process; reports come back as dicts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kreg.contracts import check

    return [check(api.lookup(name, kind)).as_dict() for name, kind in names]


def _run_checks(found: list[Entry], jobs: int, check: Any) -> list[Any]:
    """Check ``found`` in order, spread over ``jobs`` processes (each imports TensorFlow once)."""
    from kreg.contracts import Report

    if jobs <= 1:
        reports = []
        for done, entry in enumerate(found):
            _progress(done, len(found), entry.qualified_name)
            reports.append(check(entry))
        _progress(len(found), len(found), "")
        return reports
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    names = [(e.qualified_name, e.kind) for e in found]
    chunks = [names[i::jobs] for i in range(jobs)]  # interleaved: kinds spread evenly
    by_name: dict[str, Any] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_check_in_worker, chunk) for chunk in chunks if chunk]
        for future in as_completed(futures):
            for data in future.result():
                report = Report.from_dict(data)
                by_name[report.subject] = report
            _progress(len(by_name), len(found), "")
    return [by_name[f"{e.kind} {e.qualified_name!r}"] for e in found]


def command_check(arguments: argparse.Namespace) -> int:
    """``kreg check NAME | --plugin P | --all [--kind K] [--json] [-v] [-j N]``: contract checks."""
    from kreg.contracts import check

    if arguments.all or arguments.plugin:
        wanted = {p.strip() for p in (arguments.plugin or "").split(",") if p.strip()}
        found = [
            e
            for e in api.entries(arguments.kind)
            if not wanted or e.plugin in wanted or e.plugin.lower() in wanted
        ]
        if wanted and not found:
            known = sorted({e.plugin for e in api.entries()})
            print(
                f"kreg: no entries from plugin(s) {sorted(wanted)}; plugins: {known}",
                file=sys.stderr,
            )
            return 2
    elif arguments.name:
        found = [api.lookup(arguments.name, arguments.kind)]
    else:
        print("kreg: give a NAME, --plugin P or --all", file=sys.stderr)
        return 2
    import time

    jobs = arguments.jobs or (min(os.cpu_count() or 1, 4) if len(found) >= 16 else 1)
    started = time.perf_counter()
    reports = _run_checks(found, jobs, check)
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


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kreg`` command."""
    main = argparse.ArgumentParser(
        prog="kreg",
        description="Browse and check the registry of Keras losses, metrics, optimizers and "
        "schedules.",
    )
    commands = main.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list registered components")
    listing.add_argument("pattern", nargs="?", help="fnmatch pattern, e.g. '*crossentropy*'")
    listing.add_argument("--kind", choices=KINDS)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=command_list)
    show = commands.add_parser("show", help="show one component")
    show.add_argument("name")
    show.add_argument("--kind", choices=KINDS)
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=command_show)
    plugins = commands.add_parser("plugins", help="list plugins, failures and conflicts")
    plugins.add_argument("--json", action="store_true")
    plugins.add_argument(
        "--check",
        action="store_true",
        help="import every plugin entry and run the structural checks (imports TensorFlow)",
    )
    plugins.set_defaults(run=command_plugins)
    checking = commands.add_parser("check", help="run the contract checks (exit 1 on failure)")
    checking.add_argument("name", nargs="?", help="a registered name, e.g. huber or acme:scaled")
    checking.add_argument("--plugin", help="check every entry of these plugins (comma-separated)")
    checking.add_argument("--all", action="store_true", help="check every registered entry")
    checking.add_argument("--kind", choices=KINDS)
    checking.add_argument("--json", action="store_true")
    checking.add_argument("-v", "--verbose", action="store_true", help="print every report")
    checking.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        help="processes to check in (default: up to 4 of the CPUs for 16 entries or more)",
    )
    checking.set_defaults(run=command_check)
    add_train_command(commands)
    return main


def add_train_command(commands: Any) -> None:
    """``kreg train PATH``: train an export with tf.distribute (see :mod:`kreg.distributed`)."""
    from kreg.distributed import STRATEGY_CHOICES

    training = commands.add_parser(
        "train",
        help="train an exported run (run.export / %%%%kcompile --export) with tf.distribute",
    )
    training.add_argument("path", help="the export folder")
    training.add_argument(
        "--data", help="an .npz with x and y, a tf.data save folder, or module:function"
    )
    training.add_argument("--strategy", choices=STRATEGY_CHOICES, default="auto")
    training.add_argument("--epochs", type=int, help="total epochs (default: the export's)")
    training.add_argument("--batch-size", type=int, help="global batch size, split per replica")
    training.add_argument(
        "--checkpoint-dir", help="save every epoch here; a restarted run resumes from the last"
    )
    training.add_argument("--output", help="where the chief writes model.keras and history.json")
    training.add_argument(
        "--cpu-devices", type=int, help="split the CPU into N logical devices (for mirrored)"
    )
    training.add_argument("--steps-per-execution", type=int)
    training.add_argument("--seed", type=int, default=0, help="the same on every worker")
    training.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2)
    training.add_argument("--json", action="store_true", help="print the summary as JSON")
    training.set_defaults(run=command_train)


def command_train(arguments: argparse.Namespace) -> int:
    """Run ``kreg train``; print the summary (``--json``: as JSON)."""
    from kreg.distributed import train_export

    summary = train_export(
        arguments.path,
        data=arguments.data,
        strategy=arguments.strategy,
        epochs=arguments.epochs,
        batch_size=arguments.batch_size,
        checkpoint_dir=arguments.checkpoint_dir,
        output=arguments.output,
        cpu_devices=arguments.cpu_devices,
        steps_per_execution=arguments.steps_per_execution,
        seed=arguments.seed,
        verbose=arguments.verbose,
        log=lambda line: print(line, file=sys.stderr if arguments.json else sys.stdout, flush=True),
    )
    if arguments.json:
        print(json.dumps(summary))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kreg`` console script.

    Example:
        >>> main(["list", "--kind", "schedule", "exponential*"])  # doctest: +ELLIPSIS
        NAME...exponential_decay...
        0
    """
    arguments = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    try:
        return arguments.run(arguments)
    except KregError as error:
        print(f"kreg: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
