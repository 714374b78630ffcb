"""``model.fit``, made safe against the faults of a long run, with an optional live view."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras

from kreg.training.faults import failing_callback, kept_weights, out_of_memory, stop_reason
from kreg.training.guard import FaultGuard
from kreg.training.logs import scalar
from kreg.training.view import TrainingView


@dataclass
class FitOutcome:
    """How :func:`fit` ended, describing the state the model is left in.

    ``history`` and ``epochs_completed`` cover the epochs whose training the
    weights include, ``steps_completed`` the steps; ``steps_run`` counts every
    step run (for throughput); ``restored`` says the weights were put back to an
    epoch end; ``step_fault`` that a step itself failed (NaN, out of memory);
    ``error`` is the exception that ended training (None when it finished or was
    stopped; a ``KeyboardInterrupt`` for an interrupt); ``initial_weights`` are
    the weights training started from (None above ``KREG_SAFETY_COPY_GB``).

    Example:
        >>> FitOutcome(history={"loss": [0.5]}, epochs_completed=1).stopped is None
        True
    """

    history: dict[str, list[float]]
    stopped: str | None = None
    epochs_completed: int = 0
    steps_completed: int = 0
    steps_run: int = 0
    restored: bool = False
    step_fault: bool = False
    error: BaseException | None = None
    initial_weights: list[Any] | None = None


def fit(
    model: Any,
    fit_args: Mapping[str, Any],
    view: TrainingView | None = None,
    verbose: int = 0,
    device: str = "",
) -> FitOutcome:
    """``model.fit`` with ``view`` as the last callback, made safe against faults.

    What the model holds afterwards (:class:`FitOutcome` describes it; its
    ``stopped``, the reason training ended early, also goes to ``view.stopped``):

    - finished, or stopped through ``model.stop_training`` (the Stop button,
      ``EarlyStopping``): the trained weights.
    - ``KeyboardInterrupt`` (a kernel interrupt), or an exception raised by a
      callback: the weights and optimizer state of the last completed step;
      ``history`` lists the completed epochs.
    - a NaN or infinite loss, or an exception raised by a training step itself
      (out of memory, bad data): the weights and optimizer variables (iteration
      count included) of the end of the last completed epoch, or of the start of
      training when it happened in the first epoch. A NaN step has already
      written NaN into the weights, and TensorFlow applies a step's independent
      updates (and advances the iteration counter) as soon as their inputs are
      ready, so a failed step may have applied part of itself; kreg restores a
      host copy of weights and optimizer variables that it takes at every epoch
      end (one device-to-host copy per epoch).

    An exception is returned in ``error`` with a message naming the callback (and
    its hook), the epoch and step, the cause, and for out-of-memory the device and a
    smaller ``batch_size`` or ``--mixed-precision``. An exception before the first
    step that is neither a callback's nor out-of-memory is raised as it is (Keras
    refused the configuration).

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(loss="mse", optimizer="sgd")
        >>> data = {"x": np.ones((4, 1)), "y": np.array([[1.0], [2.0], [np.nan], [3.0]]),
        ...         "batch_size": 2, "epochs": 2, "shuffle": False}
        >>> outcome = fit(model, data)
        >>> print(outcome.stopped)
        the loss became NaN at epoch 1, step 2: ... put back to where training started ...
        >>> outcome.history, outcome.restored
        ({}, True)
    """
    arguments = dict(fit_args)
    callbacks = list(arguments.pop("callbacks", None) or [])
    guard = FaultGuard()
    arguments.setdefault("verbose", verbose)
    error: BaseException | None = None
    filtering = keras.config.is_traceback_filtering_enabled()
    # Keras cuts its own frames out of tracebacks, built-in callbacks' included: keep them
    # while fitting, so that a failing callback can be named.
    keras.config.disable_traceback_filtering()
    try:
        model.fit(**arguments, callbacks=[guard, *callbacks, *([view] if view else [])])
    except (Exception, KeyboardInterrupt) as caught:
        error = caught
    finally:
        if filtering:
            keras.config.enable_traceback_filtering()
    culprit = failing_callback(error, callbacks) if error is not None else None
    if error is not None:
        # Keep the traceback's lines, not its frames' locals (data, tensors: memory).
        traceback.clear_frames(error.__traceback__)
    step_fault = guard.nan_at is not None or (
        error is not None
        and culprit is None
        and guard.in_step
        and not isinstance(error, KeyboardInterrupt)
    )
    restored = False
    steps = guard.steps_run()
    if step_fault:
        restored = guard.nan_restored if guard.nan_at is not None else guard.restore()
        steps = guard.saved_steps if restored else steps
    if (
        error is not None
        and culprit is None
        and not isinstance(error, KeyboardInterrupt)
        and not out_of_memory(error)
        and guard.steps == 0
        and guard.epochs_done == 0
    ):
        raise error  # nothing ran: Keras refused the configuration (or the data)
    kept = kept_weights(guard, restored, step_fault, steps)
    outcome = FitOutcome(
        history=completed_history(guard),
        stopped=stop_reason(model, arguments, guard, error, culprit, kept, device),
        epochs_completed=guard.epochs_done,
        steps_completed=steps,
        steps_run=guard.steps_run(),
        restored=restored,
        step_fault=step_fault,
        error=error,
        initial_weights=guard.initial_weights,
    )
    if outcome.stopped is not None and view is not None:
        # The view is the last callback: one that failed before it may have hidden a step.
        at = None if step_fault or guard.epoch is None else (guard.epoch, guard.epoch_step)
        view.stopped(outcome.stopped, at)
    return outcome


def completed_history(guard: FaultGuard) -> dict[str, list[float]]:
    """Each scalar log key of the epochs the weights include, like ``History.history``.

    Example:
        >>> guard = FaultGuard()
        >>> guard.epochs_done, guard.epoch_logs = 1, [{"loss": 0.5, "name": "adam"}]
        >>> completed_history(guard)
        {'loss': [0.5]}
    """
    history: dict[str, list[float]] = {}
    for logs in guard.epoch_logs[: guard.epochs_done]:
        for key, value in logs.items():
            try:
                number = scalar(value)
            except Exception:  # a value that claims to be a number and is not
                continue
            if number is not None:
                history.setdefault(key, []).append(number)
    return history
