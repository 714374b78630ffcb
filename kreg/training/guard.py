"""The fault guard: how far training got, and a copy of the state to put back after a fault."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from kreg import settings


class FaultGuard(keras.callbacks.Callback):
    """Knows how far training got and keeps a copy of the state at every epoch end.

    :func:`fit` puts it first among the callbacks. It counts completed steps and
    epochs, notes whether a training step is running (so that an exception can be
    told apart: a callback's, or the step's own), and keeps a host copy of the
    model's weights and optimizer variables, taken when training begins and at
    every epoch end. On a NaN or infinite ``loss`` it puts that copy back and stops
    training (as ``keras.callbacks.TerminateOnNaN`` would, but without keeping the
    NaN weights).

    Attributes:
        steps: steps completed in this ``fit`` (as reported to the callbacks).
        epochs_done: epochs completed with a finite loss.
        epoch: Keras's 0-based index of the current epoch (None before the first).
        epoch_step: steps completed in that epoch; ``epoch_ended``: its end was reached.
        in_step: a training step (one ``train_function`` call) is running.
        nan_at: ``(epoch, step)`` of the first non-finite loss (0-based epoch), or None.
        saved_steps, saved_epoch: ``steps`` and the (1-based) epoch when the copy was taken.
        epoch_logs: the logs of each completed epoch.
        limit_gb: ``KREG_SAFETY_COPY_GB``, read when the guard is made (each run).

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(loss="mse", optimizer="sgd")
        >>> start = model.get_weights()
        >>> guard = FaultGuard()
        >>> y = np.array([[1.0], [2.0], [np.nan], [3.0]])
        >>> _ = model.fit(np.ones((4, 1)), y, batch_size=2, epochs=3, shuffle=False, verbose=0,
        ...               callbacks=[guard])
        >>> guard.nan_at, guard.epochs_done, guard.saved_steps, guard.steps_run()
        ((0, 2), 0, 0, 2)
        >>> all((a == b).all() for a, b in zip(model.get_weights(), start))
        True
        >>> guard.iterations()  # the optimizer's counter was put back too
        0
    """

    def __init__(self) -> None:
        super().__init__()
        self.limit_gb = settings.safety_copy_limit_gb()
        self.steps = 0
        self.epochs_done = 0
        self.epoch: int | None = None
        self.epoch_step = 0
        self.epoch_ended = False
        self.in_step = False
        self.nan_at: tuple[int, int] | None = None
        self.nan_value = math.nan
        self.saved_steps = 0
        self.saved_epoch = 0
        self.epoch_logs: list[dict[str, Any]] = []
        self.start_iterations: int | None = None
        self.nan_restored = False
        self.copy_skipped_gb: float | None = None  # the state's size when it was too big to copy
        self.initial_weights: list[Any] | None = None  # the first copy's weights (for exports)
        self._saved: tuple[list[Any], list[Any]] | None = None

    def iterations(self) -> int | None:
        """The optimizer's step counter, or None without an optimizer."""
        counter = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        return None if counter is None else int(keras.ops.convert_to_numpy(counter))

    def steps_run(self) -> int:
        """Steps completed: the callbacks' count, or the optimizer's if it is further on.

        An interrupt can arrive after an execution finished but before Keras called
        the callbacks for it; the optimizer's counter has seen those steps.
        """
        now, start = self.iterations(), self.start_iterations
        counted = now - start if now is not None and start is not None else 0
        return max(self.steps, counted)

    def capture(self) -> None:
        """Keep a host copy of the weights and the optimizer variables.

        Skipped (and :attr:`copy_skipped_gb` set) when they hold more than
        :attr:`limit_gb` (``KREG_SAFETY_COPY_GB``): a copy per epoch of a very big model
        would cost host memory and seconds; a fault then leaves the weights as they are.
        """
        optimizer = getattr(self.model, "optimizer", None)
        variables = getattr(optimizer, "variables", None) or []
        size = sum(_state_bytes(v) for v in [*self.model.weights, *variables]) / 2**30
        if size > self.limit_gb:
            self._saved, self.copy_skipped_gb = None, size
            return
        slots = [np.array(keras.ops.convert_to_numpy(v)) for v in variables]
        self._saved = (self.model.get_weights(), slots)
        self.saved_steps = self.steps

    def restore(self) -> bool:
        """Put the copy back (weights and optimizer variables); False if there is none.

        Optimizer variables created after the copy (a model built only by its first
        step) get the values a freshly built optimizer of the same config has.

        Example:
            >>> FaultGuard().restore()  # no copy before training begins
            False
        """
        if self._saved is None:
            return False
        weights, slots = self._saved
        self.model.set_weights(weights)
        optimizer = getattr(self.model, "optimizer", None)
        variables = list(getattr(optimizer, "variables", None) or [])
        if len(variables) > len(slots):
            slots = slots + self._fresh_optimizer_values(optimizer)[len(slots) :]
        for variable, value in zip(variables, slots):
            if tuple(variable.shape) == tuple(value.shape):
                variable.assign(value)
        return True

    def _fresh_optimizer_values(self, optimizer: Any) -> list[Any]:
        """The variables of a new, just built optimizer like ``optimizer`` ([] if impossible)."""
        try:
            with _strategy_scope(self.model):
                fresh = type(optimizer).from_config(optimizer.get_config())
                fresh.build(self.model.trainable_variables)
            return [np.array(keras.ops.convert_to_numpy(v)) for v in fresh.variables]
        except Exception:
            return []

    def _build_optimizer(self) -> None:
        """Create the optimizer's variables now, so that the first copy holds them.

        Without a distribution strategy Keras builds the optimizer while tracing the
        first step; this is the build it would do then (``optimizer.build`` on the
        model's trainable variables), done before that step.
        """
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or getattr(optimizer, "built", True):
            return
        if not getattr(self.model, "built", False) or not self.model.trainable_variables:
            return  # built by its first call: the copy is completed by restore()
        with _strategy_scope(self.model):
            optimizer.build(self.model.trainable_variables)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Build the optimizer if needed, note its step, and take the first copy."""
        self._build_optimizer()
        self.start_iterations = self.iterations()
        self.capture()
        self.initial_weights = self._saved[0] if self._saved is not None else None

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Note the epoch."""
        self.epoch, self.epoch_step, self.epoch_ended = epoch, 0, False

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        """A step starts."""
        self.in_step = True

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Count the step(s); on a non-finite loss, restore the copy and stop."""
        self.in_step = False
        step = int(batch) + 1
        self.steps += max(step - self.epoch_step, 0)
        self.epoch_step = step
        loss = (logs or {}).get("loss")
        try:
            value = float(np.asarray(loss)) if loss is not None else 0.0
        except (TypeError, ValueError):
            value = 0.0
        if not math.isfinite(value) and self.nan_at is None:
            self.nan_at, self.nan_value = (self.epoch or 0, step), value
            self.nan_restored = self.restore()
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Count the epoch and take a copy (not after a NaN: that epoch did not complete)."""
        if self.nan_at is not None:
            return
        self.epoch_ended = True
        self.epochs_done += 1
        # Keras hands every callback the same dict: what later ones add (learning_rate...)
        # is in it by the end of the run.
        self.epoch_logs.append(logs if isinstance(logs, dict) else dict(logs or {}))
        self.capture()
        self.saved_epoch = epoch + 1


def _state_bytes(variable: Any) -> int:
    """The size of a variable's value, from its shape and dtype (nothing is copied)."""
    count = math.prod(int(d or 0) for d in getattr(variable, "shape", ()))
    try:
        itemsize = np.dtype(keras.backend.standardize_dtype(variable.dtype)).itemsize
    except (TypeError, ValueError, AttributeError):
        itemsize = 4
    return int(count * itemsize)


def _strategy_scope(model: Any) -> Any:
    """The model's ``tf.distribute`` scope on TensorFlow; nothing on other backends."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
