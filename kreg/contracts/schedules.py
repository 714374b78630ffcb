"""Behavioural checks of a learning-rate schedule: values, graphs, config, use in fit()."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kreg.contracts.common import (
    CheckFailed,
    CheckSkipped,
    close,
    describe,
    fit_two_steps,
    run_check,
    shown,
    to_numpy,
)
from kreg.contracts.report import Report
from kreg.contracts.roundtrip import check_config_roundtrip, check_serialization
from kreg.contracts.subject import Subject
from kreg.kerasext.backend import (
    NotApplicable,
    compiled,
    compiled_check_name,
    compiled_name,
    step_tensor,
)

STEPS = (0, 1, 7, 100, 10_000)


def check_schedule(subject: Subject, report: Report) -> None:
    """Run every behavioural schedule check on ``subject`` into ``report``."""

    def value(schedule: Any) -> Any:
        return np.array([float(to_numpy(schedule(step))) for step in STEPS])

    def values() -> str:
        schedule = subject.make()
        found = []
        for step in STEPS:
            for given in (step, step_tensor(step)):
                rate = schedule(given)
                shape = tuple(getattr(rate, "shape", ()))
                if shape != ():
                    raise CheckFailed(
                        f"__call__({step}) returned shape {shape}; return one scalar learning "
                        "rate per step"
                    )
                number = float(to_numpy(rate))
                if not np.isfinite(number) or number < 0:
                    raise CheckFailed(
                        f"__call__({step}) returned {number}; a learning rate must be finite "
                        "and non-negative"
                    )
            found.append(number)
        return "scalars " + ", ".join(f"{n:.3g}" for n in found) + f" at steps {STEPS}"

    def graph() -> str:
        schedule = subject.make()
        try:
            traced = compiled(lambda step: schedule(step))
        except NotApplicable as reason:
            raise CheckSkipped(f"not applicable: {reason}") from None
        try:
            got = [traced(step_tensor(step)) for step in STEPS]
        except Exception as error:
            raise CheckFailed(
                f"__call__ failed inside {compiled_name()}: {describe(error)}; the optimizer "
                "calls the schedule with its integer iterations variable inside the training "
                "step: use tensor operations (ops.cast(step, 'float32')), not Python conditions"
            ) from error
        eager = value(subject.make())
        if not close(got, eager):
            raise CheckFailed(f"traced values {shown(got)} differ from eager {shown(eager)}")
        return "traced values equal eager ones"

    def in_fit() -> str:
        optimizer = keras.optimizers.SGD(learning_rate=subject.make())
        try:
            history, _, _ = fit_two_steps(optimizer)
        except Exception as error:
            raise CheckFailed(
                f"fit() with SGD(learning_rate=schedule) failed: {describe(error)}"
            ) from error
        loss = history.history["loss"][-1]
        if not np.isfinite(loss) or int(keras.ops.convert_to_numpy(optimizer.iterations)) != 2:
            raise CheckFailed(f"fit() gave loss {loss} after {optimizer.iterations} steps")
        return f"2 fit() steps, loss {loss:.4g}"

    run_check(report, "values", values)
    run_check(report, compiled_check_name(), graph)
    run_check(report, "config_roundtrip", lambda: check_config_roundtrip(subject, value))
    run_check(report, "serialization", lambda: check_serialization(subject, value))
    run_check(report, "optimizer_fit", in_fit)
