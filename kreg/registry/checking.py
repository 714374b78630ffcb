"""``kreg.check``: contract checks of names and entries, as :func:`kreg.get` hands them out."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from kreg.contracts import FAIL, WARN, CheckResult, Report, check_behaviour, check_object
from kreg.contracts.examples import as_example
from kreg.contracts.structural import blocking_failures
from kreg.contracts.subject import Subject
from kreg.errors import KregError
from kreg.names import check_kind
from kreg.registry import build
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry


def check(
    obj_or_name: Any, kind: str | None = None, *, example: Any = None, behaviour: bool = True
) -> Report:
    """Check a component against its Keras contract and return a :class:`~kreg.contracts.Report`.

    ``obj_or_name`` is a registry name (checked as :func:`kreg.get` hands it
    out), an :class:`~kreg.registry.entry.Entry`, or a class, function or instance of
    your own (checked as it is). ``example`` overrides the sample data: a
    callable or value giving ``(y_true, y_pred)``, an
    :class:`~kreg.contracts.Example` or a dict.

    Raises:
        UnknownComponentError: no such name.
        KregError: the kind of a plain function cannot be guessed (pass ``kind``).

    Example:
        >>> import kreg
        >>> report = kreg.check("huber")
        >>> report.ok, report["per_sample"].outcome
        (True, 'pass')
    """
    wanted = check_kind(kind)
    if isinstance(obj_or_name, str):
        obj_or_name = CATALOG.lookup(obj_or_name, wanted)
    if isinstance(obj_or_name, Entry):
        return check_entry(obj_or_name, example=example, behaviour=behaviour)
    return check_object(obj_or_name, wanted, example=example, behaviour=behaviour)


def check_entry(entry: Entry, *, example: Any = None, behaviour: bool = True) -> Report:
    """The contract report of a registry entry, built exactly as :func:`kreg.get` builds it.

    Example:
        >>> import kreg
        >>> check_entry(kreg.lookup("adam"), behaviour=False).names()
        ['base_class', 'required_methods', 'config_covers_init']
    """
    report = Report(f"{entry.kind} {entry.qualified_name!r}", entry.kind)
    try:
        report.results.extend(entry.structural_report().results)
    except KregError as error:  # the plugin's module cannot be imported
        report.add(CheckResult("import", FAIL, str(error)))
        return report
    if not blocking_failures(report) and behaviour:
        check_behaviour(report, lambda: subject_for_entry(entry, example))
    for tag, reason in entry.defects:
        report.add(CheckResult(f"known_defect:{tag}", WARN, f"declared by its plugin: {reason}"))
    return report


def subject_for_entry(entry: Entry, example: Any = None) -> Subject:
    """The subject of the behavioural checks for ``entry``: built as :func:`kreg.get` builds it.

    Example:
        >>> import kreg
        >>> subject_for_entry(kreg.lookup("huber")).label
        "loss 'keras:huber'"
    """
    source = example if example is not None else entry.example
    made = source() if callable(source) else source
    return Subject(
        label=f"{entry.kind} {entry.qualified_name!r}",
        kind=entry.kind,
        target=entry.load(),
        build=lambda **config: build.create(entry, config, warn=False),
        example=as_example(entry.kind, made),
        tags=entry.tags,
        from_registry=True,
        as_written=not entry.is_builtin,
        fresh_names=_stand_in_names(entry),
    )


def _stand_in_names(entry: Entry) -> tuple[str, ...]:
    """The names kreg registers stand-ins under for a lazy entry (see ``keras_ready``)."""
    if entry.is_builtin or not isinstance(entry.target, str):
        return ()
    module, _, attribute = entry.target.partition(":")
    return tuple(f"{p}>{attribute}" for p in dict.fromkeys((entry.plugin, module.split(".")[0])))


def check_many(
    entries: list[Entry], jobs: int = 1, progress: Callable[[int, str], None] | None = None
) -> list[Report]:
    """The reports of ``entries``, in order, checked in ``jobs`` processes (each imports TF once).

    ``progress(done, label)`` is called as entries finish.

    Example:
        >>> import kreg
        >>> [r.ok for r in check_many([kreg.lookup("sgd"), kreg.lookup("huber")])]
        [True, True]
    """
    if jobs <= 1:
        reports = []
        for done, entry in enumerate(entries):
            if progress is not None:
                progress(done, entry.qualified_name)
            reports.append(check_entry(entry))
        if progress is not None:
            progress(len(entries), "")
        return reports
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    names = [(e.qualified_name, e.kind) for e in entries]
    chunks = [names[i::jobs] for i in range(jobs)]  # interleaved: kinds spread evenly
    by_subject: dict[str, Report] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_check_in_worker, chunk) for chunk in chunks if chunk]
        for future in as_completed(futures):
            for data in future.result():
                report = Report.from_dict(data)
                by_subject[report.subject] = report
            if progress is not None:
                progress(len(by_subject), "")
    return [by_subject[f"{e.kind} {e.qualified_name!r}"] for e in entries]


def _check_in_worker(names: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Check entries by (qualified name, kind) in a worker process; reports come back as dicts."""
    import contextlib
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with contextlib.redirect_stdout(sys.stderr):  # a library's prints stay off the parent's
        return [check_entry(CATALOG.lookup(name, kind)).as_dict() for name, kind in names]
