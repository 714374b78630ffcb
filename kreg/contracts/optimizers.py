"""Behavioural checks of an optimizer: it minimises, clips, takes schedules, checkpoints."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
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
)
from kreg.contracts.report import Report
from kreg.contracts.roundtrip import check_config_roundtrip, check_serialization
from kreg.contracts.subject import Subject
from kreg.kerasext.backend import backend_name, compiled_name, is_tensorflow, to_tensor

STEPS = 60
# The example's (or default) rate first when the example sets one; else 0.1, which suits
# every built-in on the test problem, so most optimizers need one run of STEPS steps.
LEARNING_RATES: tuple[float | None, ...] = (0.1, None, 0.01, 1.0)
_START = (
    np.array([[1.0, -2.0, 3.0], [0.5, -1.0, 2.0]], "float32"),
    np.array([1.5, -0.5, 2.5], "float32"),
)
_TARGET = 0.3
# Gradients of very different sizes and directions, so that clipping changes what adaptive
# and sign-based optimizers do.
_PATTERNS = np.random.default_rng(7).normal(size=(3, 9)).astype("float32")
_GRADIENTS = [
    [scale * pattern[:6].reshape(2, 3), scale * pattern[6:]]
    for scale, pattern in zip((40.0, 0.05, 3.0), _PATTERNS)
]


def _variables() -> list[Any]:
    return [keras.Variable(start) for start in _START]


def quadratic(variables: list[Any]) -> float:
    """The convex test problem: ``sum((v - 0.3) ** 2)`` over all variables."""
    return float(sum(np.sum((np.array(v) - _TARGET) ** 2) for v in variables))


def minimise(optimizer: Any, steps: int = STEPS) -> tuple[float, float]:
    """Run ``steps`` updates on the quadratic; return the loss before and after."""
    variables = _variables()
    before = quadratic(variables)
    for _ in range(steps):
        gradients = [2.0 * (v - _TARGET) for v in variables]
        optimizer.apply_gradients(zip(gradients, variables))
    return before, quadratic(variables)


def applied(optimizer: Any, gradients: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Variables after applying each gradient list in turn, from the fixed start."""
    variables = _variables()
    for step in gradients:
        optimizer.apply_gradients(zip([to_tensor(g) for g in step], variables))
    return [np.array(v) for v in variables]


def _clipped(option: str, limit: float) -> list[list[np.ndarray]]:
    clipped = []
    for step in _GRADIENTS:
        if option == "clipvalue":
            clipped.append([np.clip(g, -limit, limit) for g in step])
        elif option == "clipnorm":
            clipped.append([g * min(1.0, limit / np.linalg.norm(g)) for g in step])
        else:
            total = np.sqrt(sum(np.sum(g**2) for g in step))
            clipped.append([g * min(1.0, limit / total) for g in step])
        clipped[-1] = [g.astype("float32") for g in clipped[-1]]
    return clipped


def check_optimizer(subject: Subject, report: Report) -> None:
    """Run every behavioural optimizer check on ``subject`` into ``report``."""

    def value(optimizer: Any) -> Any:
        return np.concatenate([v.ravel() for v in applied(optimizer, _GRADIENTS)])

    def minimises() -> str:
        tried = []
        rates = LEARNING_RATES
        if "learning_rate" in subject.example.config:
            rates = (None, *(r for r in LEARNING_RATES if r is not None))
        for rate in rates:
            optimizer = subject.make() if rate is None else subject.make(learning_rate=rate)
            before, after = minimise(optimizer)
            shown_rate = _rate(optimizer)
            tried.append(f"{shown_rate:g}: {before:.3g} -> {after:.3g}")
            if np.isfinite(after) and after < before / 4:
                return (
                    f"loss {before:.3g} -> {after:.3g} in {STEPS} steps "
                    f"(learning_rate={shown_rate:g})"
                )
        raise CheckFailed(
            f"the loss of a convex quadratic did not fall by 4x in {STEPS} steps at any "
            f"learning rate tried ({'; '.join(tried)}); update_step(gradient, variable, "
            "learning_rate) must move each variable against its gradient, e.g. "
            "self.assign_sub(variable, learning_rate * gradient)"
        )

    def iterations() -> str:
        optimizer = subject.make()
        applied(optimizer, _GRADIENTS)
        count = _steps(optimizer)
        if count != len(_GRADIENTS):
            raise CheckFailed(
                f"after {len(_GRADIENTS)} apply_gradients calls optimizer.iterations is "
                f"{count}{': the step counter is frozen' if count == 0 else ''}; schedules, "
                "bias corrections and checkpoints read it. Let Optimizer.apply() count steps "
                "(override update_step, not apply_gradients), or call "
                "self.iterations.assign_add(1) in your override"
            )
        return f"iterations counts the steps ({count})"

    def clipping(option: str, limit: float) -> Callable[[], str]:
        def check() -> str:
            try:
                with_option = applied(subject.make(**{option: limit}), _GRADIENTS)
            except Exception as error:
                raise CheckFailed(
                    f"cannot be built or stepped with {option}={limit} ({describe(error)}); "
                    f"accept **kwargs in __init__ and pass them to super().__init__"
                ) from error
            by_hand = applied(subject.make(), _clipped(option, limit))
            unclipped = applied(subject.make(), _GRADIENTS)
            if all(close(a, b) for a, b in zip(with_option, by_hand)):
                if all(close(a, b) for a, b in zip(by_hand, unclipped)):
                    raise CheckSkipped(
                        f"{option} makes no visible difference to this optimizer's updates"
                    )
                return f"{option}={limit} equals clipping the gradients by hand"
            ignored = all(close(a, b) for a, b in zip(with_option, unclipped))
            raise CheckFailed(
                f"with {option}={limit} the updates differ from applying gradients clipped by "
                f"hand{' and equal unclipped ones: the option is ignored' if ignored else ''}; "
                "let Optimizer.apply() clip (override update_step, not apply_gradients), or "
                "call self._clip_gradients(grads) if you override apply()"
            )

        return check

    def schedule() -> str:
        rates = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
        try:
            optimizer = subject.make(learning_rate=rates)
            after = applied(optimizer, _GRADIENTS)
        except Exception as error:
            raise CheckFailed(
                f"a LearningRateSchedule as learning_rate failed: {describe(error)}; pass "
                "learning_rate to super().__init__ and read self.learning_rate in update_step"
            ) from error
        if not all(np.isfinite(a).all() for a in after):
            raise CheckFailed("with a schedule as learning_rate the variables became non-finite")
        if _steps(optimizer) == 0:
            raise CheckFailed(
                f"optimizer.iterations stays at 0 after {len(_GRADIENTS)} steps, so a schedule "
                "never moves past its first value; apply_gradients must increment "
                "self.iterations (see the iterations check)"
            )
        expected = float(rates(_steps(optimizer)))
        if not np.isclose(_rate(optimizer), expected, rtol=1e-4):
            raise CheckFailed(
                f"after {_steps(optimizer)} steps learning_rate is "
                f"{_rate(optimizer):g}, but the schedule gives {expected:g}; use "
                "self.learning_rate (which follows the schedule), not a copy made in __init__"
            )
        constant = applied(subject.make(learning_rate=float(rates(0))), _GRADIENTS)
        if all(close(a, b) for a, b in zip(after, constant)):
            raise CheckFailed(
                f"the updates with a decaying schedule equal those with a constant "
                f"learning_rate={float(rates(0)):g}: update_step ignores the schedule; use its "
                "learning_rate argument (or self.learning_rate), not a value copied in __init__"
            )
        return f"updates follow the schedule (learning_rate {expected:g} after 3 steps)"

    def checkpoint() -> str:
        optimizer, variables = subject.make(), _variables()
        for step in _GRADIENTS:
            optimizer.apply_gradients(zip([to_tensor(g) for g in step], variables))
        restored, fresh = subject.make(), _variables()
        restored.build(fresh)
        how = _round_trip(optimizer, variables, restored, fresh)
        saved = [np.array(v) for v in optimizer.variables]
        loaded = [np.array(v) for v in restored.variables]
        if len(saved) != len(loaded) or not all(close(a, b) for a, b in zip(saved, loaded)):
            raise CheckFailed(
                f"after a {how} round trip the optimizer's {len(saved)} variables "
                "(iterations, moments) were not all restored; create slots with "
                "self.add_variable_from_reference in build() so they are tracked"
            )
        step = [to_tensor(g) for g in _GRADIENTS[-1]]
        optimizer.apply_gradients(zip(step, variables))
        restored.apply_gradients(zip(step, fresh))
        if not all(close(a, b) for a, b in zip(variables, fresh)):
            raise CheckFailed("the restored optimizer's next step differs from the original's")
        return f"{len(saved)} optimizer variables restored; next step identical"

    def in_fit() -> str:
        optimizer = subject.make()
        try:
            history, before, model = fit_two_steps(optimizer)
        except Exception as error:
            raise CheckFailed(
                f"fit() with this optimizer failed on the {backend_name()} backend: "
                f"{describe(error)}; fit() runs apply() inside the compiled training step "
                f"({compiled_name()}), where a slot must not share another variable's value "
                "(assign ops.copy(variable)) and Python conditions on tensors do not work"
            ) from error
        loss = history.history["loss"][-1]
        moved = any(not close(a, b) for a, b in zip(before, model.get_weights()))
        if _steps(optimizer) != 2:
            raise CheckFailed(
                f"after 2 fit() steps optimizer.iterations is {_steps(optimizer)}: "
                "apply_gradients must increment it once per step (see the iterations check); "
                "callbacks, schedules and checkpoints count steps with it"
            )
        if not np.isfinite(loss) or not moved:
            raise CheckFailed(
                f"2 fit() steps gave loss {loss} and left the weights "
                f"{'changed' if moved else 'unchanged'}: update_step must move each variable"
            )
        return f"2 fit() steps on {backend_name()}, loss {loss:.4g}"

    run_check(report, "minimises_quadratic", minimises)
    run_check(report, "iterations", iterations)
    run_check(report, "clipnorm", clipping("clipnorm", 1.0))
    run_check(report, "clipvalue", clipping("clipvalue", 0.5))
    run_check(report, "global_clipnorm", clipping("global_clipnorm", 1.0))
    run_check(report, "schedule_as_learning_rate", schedule)
    run_check(report, "config_roundtrip", lambda: check_config_roundtrip(subject, value))
    run_check(report, "serialization", lambda: check_serialization(subject, value))
    run_check(report, "checkpoint", checkpoint)
    run_check(report, "fit", in_fit)


def _round_trip(optimizer: Any, variables: list[Any], restored: Any, fresh: list[Any]) -> str:
    """Save ``optimizer``'s state and load it into ``restored``; say how it travelled.

    On TensorFlow, a ``tf.train.Checkpoint`` (what ``tf.distribute`` jobs and
    ``BackupAndRestore`` write); on every backend, Keras's own store (what a ``.keras``
    file holds), so JAX and PyTorch are checked the way they save.
    """
    if is_tensorflow():
        import tensorflow as tf

        with tempfile.TemporaryDirectory() as folder:
            path = tf.train.Checkpoint(optimizer=optimizer, v0=variables[0], v1=variables[1]).save(
                f"{folder}/ckpt"
            )
            tf.train.Checkpoint(optimizer=restored, v0=fresh[0], v1=fresh[1]).restore(
                path
            ).assert_existing_objects_matched()
        return "tf.train.Checkpoint"
    store: dict[str, Any] = {}
    optimizer.save_own_variables(store)
    restored.load_own_variables(store)
    for target, source in zip(fresh, variables):
        target.assign(source)
    return "save_own_variables/load_own_variables (.keras file)"


def _steps(optimizer: Any) -> int:
    """The optimizer's step counter, ``iterations``, as an int."""
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def _rate(optimizer: Any) -> float:
    rate = optimizer.learning_rate
    return float(rate.numpy() if hasattr(rate, "numpy") else rate)
