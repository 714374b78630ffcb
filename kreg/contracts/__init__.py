"""Contract checks: does a component behave as Keras expects a loss, metric, optimizer or schedule?

Structural checks (base class, methods, config coverage) are cheap and run
when an entry is first built; behavioural checks run small tensors through the
component on demand: :func:`check`, ``kreg check``, ``%kreg check``.
Importing this package imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from kreg.contracts.examples import Example
from kreg.contracts.report import FAIL, PASS, SKIPPED, WARN, CheckResult, Report
from kreg.contracts.structural import kind_of, structural_report
from kreg.errors import KregError
from kreg.names import check_kind

__all__ = [
    "FAIL",
    "PASS",
    "SKIPPED",
    "WARN",
    "CheckResult",
    "Example",
    "Report",
    "check",
    "structural_report",
]


def check(
    obj_or_name: Any, kind: str | None = None, *, example: Any = None, behaviour: bool = True
) -> Report:
    """Check a component against its Keras contract and return a :class:`Report`.

    ``obj_or_name`` is a registry name (checked as :func:`kreg.get` hands it
    out), an :class:`~kreg.registry.Entry`, or a class, function or instance of
    your own (checked as it is). ``example`` overrides the sample data: a
    callable or value giving ``(y_true, y_pred)``, an :class:`Example` or a dict.

    Raises:
        UnknownComponentError: no such name.
        KregError: the kind of a plain function cannot be guessed (pass ``kind``).

    Example:
        >>> import kreg
        >>> report = kreg.check("huber")
        >>> report.ok, report["per_sample"].outcome
        (True, 'pass')
    """
    from kreg import api
    from kreg.registry import Entry

    wanted = check_kind(kind)
    if isinstance(obj_or_name, str):
        obj_or_name = api.lookup(obj_or_name, wanted)
    if isinstance(obj_or_name, Entry):
        entry = obj_or_name
        report = Report(f"{entry.kind} {entry.qualified_name!r}", entry.kind)
        try:
            report.results.extend(entry.structural_report().results)
        except KregError as error:  # the plugin's module cannot be imported
            report.add(CheckResult("import", FAIL, str(error)))
            return report
        if report.ok and behaviour:
            from kreg.contracts.subject import subject_for_entry

            _behaviour(report, lambda: subject_for_entry(entry, example))
        return report
    found_kind = wanted or kind_of(obj_or_name)
    if found_kind is None:
        raise KregError(
            f"cannot tell whether {obj_or_name!r} is a loss, metric, optimizer or schedule; "
            "pass kind=, e.g. kreg.check(my_fn, kind='metric')"
        )
    target = (
        obj_or_name
        if inspect.isclass(obj_or_name) or inspect.isfunction(obj_or_name)
        else (type(obj_or_name))
    )
    label = getattr(obj_or_name, "__qualname__", type(obj_or_name).__qualname__)
    report = structural_report(target, found_kind, f"{found_kind} {label}")
    if report.ok and behaviour:
        from kreg.contracts.subject import subject_for_object

        _behaviour(report, lambda: subject_for_object(obj_or_name, found_kind, example))
    return report


def _behaviour(report: Report, make_subject: Any) -> None:
    from kreg.contracts.common import describe

    started = time.perf_counter()
    try:
        subject = make_subject()
        subject.make()
    except Exception as error:
        report.add(
            CheckResult(
                "construct",
                FAIL,
                f"cannot be built for the checks ({describe(error)}); give every __init__ "
                "argument a default, or register it with "
                "example=lambda: {'config': {...required arguments...}}",
                time.perf_counter() - started,
            )
        )
        return
    report.add(CheckResult("construct", PASS, "built", time.perf_counter() - started))
    if subject.kind == "loss":
        from kreg.contracts.losses import check_loss as run
    elif subject.kind == "metric":
        from kreg.contracts.metrics import check_metric as run
    elif subject.kind == "optimizer":
        from kreg.contracts.optimizers import check_optimizer as run
    else:
        from kreg.contracts.schedules import check_schedule as run
    run(subject, report)
