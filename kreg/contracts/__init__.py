"""Contract checks: does a component behave as Keras expects a loss, metric, optimizer or schedule?

Structural checks (base class, methods, config coverage) are cheap and run
when an entry is first built; behavioural checks run small tensors through the
component on demand. This package checks classes, functions and instances
(:func:`check_object`) and any :class:`~kreg.contracts.subject.Subject`
(:func:`check_behaviour`); :func:`kreg.check` also takes registry names and entries
(:mod:`kreg.registry.checking`). Importing this package imports neither TensorFlow
nor Keras.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from kreg.contracts.examples import Example
from kreg.contracts.report import FAIL, PASS, SKIPPED, WARN, CheckResult, Report
from kreg.contracts.structural import blocking_failures, kind_of, structural_report
from kreg.errors import KregError
from kreg.names import check_kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.contracts.subject import Subject

__all__ = [
    "FAIL",
    "PASS",
    "SKIPPED",
    "WARN",
    "CheckResult",
    "Example",
    "Report",
    "check_behaviour",
    "check_object",
    "structural_report",
]


def check_object(
    obj: Any, kind: str | None = None, *, example: Any = None, behaviour: bool = True
) -> Report:
    """Check your own class, function or instance against its Keras contract, as it is.

    ``example`` overrides the sample data: a callable or value giving
    ``(y_true, y_pred)``, an :class:`Example` or a dict.

    Raises:
        KregError: the kind of a plain function cannot be guessed (pass ``kind``).

    Example:
        >>> import keras
        >>> report = check_object(keras.losses.Huber)
        >>> report.ok, report["config_roundtrip"].outcome
        (False, 'fail')
    """
    found_kind = check_kind(kind) or kind_of(obj)
    if found_kind is None:
        raise KregError(
            f"cannot tell whether {obj!r} is a loss, metric, optimizer or schedule; "
            "pass kind=, e.g. kreg.check(my_fn, kind='metric')"
        )
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    label = getattr(obj, "__qualname__", type(obj).__qualname__)
    # Keras's own classes: the raw config_roundtrip check names Keras's bug, with its note.
    ours = not getattr(target, "__module__", "").startswith("keras.")
    report = structural_report(target, found_kind, f"{found_kind} {label}", as_written=ours)
    if not blocking_failures(report) and behaviour:
        from kreg.contracts.subject import subject_for_object

        check_behaviour(report, lambda: subject_for_object(obj, found_kind, example))
    return report


def check_behaviour(report: Report, make_subject: Callable[[], Subject]) -> None:
    """Build the subject ``make_subject`` gives, then add its kind's behavioural checks.

    A subject that cannot be built fails the ``construct`` check (and nothing else runs).

    Example:
        >>> import keras
        >>> from kreg.contracts.subject import subject_for_object
        >>> report = Report("loss Huber", "loss")
        >>> check_behaviour(report, lambda: subject_for_object(keras.losses.Huber, "loss"))
        >>> report["per_sample"].outcome
        'pass'
    """
    from kreg.contracts.common import describe
    from kreg.errors import missing_dependency

    started = time.perf_counter()
    try:
        subject = make_subject()
        subject.make()
    except Exception as error:
        missing = missing_dependency(error)
        advice = missing or (
            "give every __init__ argument a default, or register it with "
            "example=lambda: {'config': {...required arguments...}}"
        )
        # kreg's own errors are already explained (and may hold the advice): never cut them.
        whole = f"{type(error).__name__}: {' '.join(str(error).split())}"
        described = whole if isinstance(error, KregError) else describe(error)
        told = "pip install" in whole if missing else advice.lower() in whole.lower()
        message = f"cannot be built for the checks ({described})"
        if not told:
            message += f"; {advice}"
        report.add(CheckResult("construct", FAIL, message, time.perf_counter() - started))
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
    started = time.perf_counter()
    try:
        run(subject, report)
    except Exception as error:  # the example or the component broke kreg's own set-up
        message = (
            f"the {subject.kind} checks could not run on the example data ({describe(error)}); "
            "give an example whose y_true and y_pred have the batch on their leading axis"
        )
        report.add(CheckResult("behaviour", FAIL, message, time.perf_counter() - started))
