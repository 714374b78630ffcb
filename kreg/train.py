"""Training a resolved cell: accelerator and strategy, speed settings, the fit loop, the Run.

Data flows one way: :mod:`kreg.spec` gives the built components; this module
picks where and how fast to run them, compiles, fits, and returns a
:class:`Run`. Nothing here parses or displays cells.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kreg.cellparse import STRATEGIES, Options
from kreg.errors import KregError

TARGET_SECONDS_PER_EXECUTION = 0.25
SAFETY_COPY_LIMIT_GB = float(os.environ.get("KREG_SAFETY_COPY_GB", "2"))
"""Above this size (weights + optimizer variables), no epoch-end host copy is kept (see
:class:`FaultGuard`); ``KREG_SAFETY_COPY_GB`` changes it (0: never copy)."""
"""``--steps-per-execution auto`` aims at one execution per this many seconds (live view rate)."""


class TrainingSetupError(KregError):
    """The run cannot start as asked (no such device, strategy, or data shape)."""


class TrainingFault(KregError):
    """Training stopped on an error: a callback raised, memory ran out, or a step failed.

    The message says where (epoch and step), the cause, which weights the model
    kept and what to try. ``run`` is the partial :class:`Run` (its ``error`` is
    the original exception, with its traceback); :func:`train` sets it.

    Example:
        >>> fault = TrainingFault("out of memory on GPU:0 in step 3 of epoch 1: ...")
        >>> fault.run is None, str(fault).startswith("out of memory")
        (True, True)
    """

    run: Any = None


@dataclass
class Placement:
    """Where a run executes: the strategy, its devices and a one-line description."""

    strategy: Any
    name: str
    devices: list[str]
    accelerator: str

    def describe(self) -> str:
        """e.g. ``1 GPU (NVIDIA H100) · default strategy``."""
        return f"{self.accelerator} · {self.name} strategy"


@dataclass
class Run:
    """One ``%%kcompile`` run: what was compiled, where, how fast, and what it learnt.

    ``history`` is a dict of lists, like ``keras.callbacks.History.history``. After
    an early stop or a fault, ``history`` and ``epochs_completed`` cover the epochs
    whose training the model's weights include and ``steps_completed`` its steps;
    ``stopped`` says why and which weights were kept, ``error`` holds the exception
    (see :func:`fit`).
    """

    spec: Any
    model: Any = None
    model_name: str = "model"
    history: dict[str, list[float]] = field(default_factory=dict)
    device: str = ""
    strategy: str = ""
    precision: str = "float32"
    jit_compile: bool = False
    steps_per_execution: int = 1
    steps_per_execution_reason: str = ""
    wall_seconds: float = 0.0
    samples_per_second: float = 0.0
    epochs_completed: int = 0
    steps_completed: int = 0
    stopped: str | None = None
    error: BaseException | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    view: Any = None
    initial_weights: list[Any] | None = field(default=None, repr=False)

    def export(
        self, path: str | os.PathLike[str], weights: str = "initial", data: bool = True
    ) -> Any:
        """Write this run to the folder ``path`` for ``kreg train`` (see :mod:`kreg.export`).

        The folder holds ``model.keras`` (with the weights the run started from,
        or ``weights="trained"``), ``run.json`` (components by qualified name and
        config, fit settings, plugins needed), the data (``data=False`` leaves it
        out) and a README line. Returns the folder's path.

        Example:
            >>> Run(spec=None).export("somewhere")
            Traceback (most recent call last):
            ...
            kreg.export.ExportError: nothing to export: ...
        """
        from kreg.export import export_run

        return export_run(self, path, weights=weights, data=data)

    def to_code(self) -> str:
        """Plain Keras code reproducing this compile (and fit), with kreg's speed settings.

        Example:
            >>> print(Run(spec=None).to_code())
            # nothing was compiled
        """
        if self.spec is None:
            return "# nothing was compiled"
        extra = {"steps_per_execution": self.steps_per_execution, "jit_compile": self.jit_compile}
        return self.spec.to_code(self.model_name, extra)

    def plot(self) -> Any:
        """The training curves as a PNG image (an ``IPython.display.Image``)."""
        from IPython.display import Image

        if self.view is None:
            raise KregError("this run has no live view to plot (it only compiled)")
        return Image(data=self.view.figure_png())

    def summary(self) -> str:
        """One paragraph: where it ran, how fast, how it ended, the final metrics."""
        lines = [
            f"{self.model_name}: {self.device}; precision {self.precision}; "
            f"XLA {'on' if self.jit_compile else 'off'}; steps_per_execution "
            f"{self.steps_per_execution} ({self.steps_per_execution_reason})"
        ]
        if self.history:
            final = ", ".join(f"{k} {v[-1]:.4g}" for k, v in self.history.items() if v)
            lines.append(
                f"{self.epochs_completed} epochs in {self.wall_seconds:.2f} s "
                f"({self.samples_per_second:,.0f} samples/s): {final}"
            )
        elif self.spec is not None and not self.spec.trains:
            lines.append("compiled only (no x in the cell)")
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<kreg Run {self.summary()}>"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(k)}</td>"
            + "".join(f"<td>{x:.4g}</td>" for x in v[-1:])
            + f"<td>{len(v)}</td></tr>"
            for k, v in self.history.items()
        )
        table = (
            f"<table><tr><th>metric</th><th>final</th><th>epochs</th></tr>{rows}</table>"
            if rows
            else ""
        )
        lines = "<br>".join(html.escape(line) for line in self.summary().splitlines())
        return f"<div><b>kreg run</b><br>{lines}{table}</div>"


# -- where ----------------------------------------------------------------------------------


def _gpu_names() -> list[str]:
    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:  # pragma: no cover - driver-specific
            details = {}
        names.append(details.get("device_name", gpu.name))
    return names


def place(strategy: str, model: Any) -> Placement:
    """Choose the ``tf.distribute`` strategy for ``--strategy`` on this machine.

    ``auto``: several GPUs -> ``MirroredStrategy``; one GPU -> that GPU; a TPU
    -> ``TPUStrategy``; else the CPU. A model built under a strategy keeps it.

    Example:
        >>> place("default", None).name
        'default'
    """
    if strategy not in STRATEGIES:
        raise TrainingSetupError(f"--strategy must be one of {STRATEGIES}. Received: {strategy!r}")
    gpus = _gpu_names()
    logical_gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    plural = "s" if len(logical_gpus) > 1 else ""
    names = ", ".join(sorted(set(gpus)))
    accelerator = (
        f"{len(logical_gpus)} GPU{plural} ({names})" if gpus else f"CPU ({os.cpu_count()} cores)"
    )
    existing = getattr(model, "_distribute_strategy", None)
    if strategy == "auto":
        if existing is not None:
            return Placement(existing, type(existing).__name__, [], accelerator)
        if len(logical_gpus) > 1:
            strategy = "mirrored"
        elif tf.config.list_logical_devices("TPU"):
            strategy = "tpu"
        else:
            strategy = "default"
    if strategy == "default":
        return Placement(tf.distribute.get_strategy(), "default", [], accelerator)
    if strategy == "mirrored":
        if isinstance(existing, tf.distribute.MirroredStrategy):
            return Placement(
                existing, "mirrored", list(existing.extended.worker_devices), accelerator
            )
        devices = [d.name for d in logical_gpus] or [d.name for d in cpus]
        chosen = tf.distribute.MirroredStrategy(devices=devices)
        what = f"{len(devices)} {'GPUs' if logical_gpus else 'CPU devices'}"
        return Placement(chosen, f"mirrored over {what}", devices, accelerator)
    if strategy == "multiworker":
        try:
            chosen = tf.distribute.MultiWorkerMirroredStrategy()
        except Exception as error:
            raise TrainingSetupError(
                f"MultiWorkerMirroredStrategy could not start ({error}); it must be created "
                "before TensorFlow runs anything, with TF_CONFIG set: run the exported job "
                "with `kreg train --strategy multiworker` instead"
            ) from error
        return Placement(chosen, "multi-worker mirrored", [], accelerator)
    tpus = tf.config.list_logical_devices("TPU")
    if not tpus:
        raise TrainingSetupError(
            "--strategy tpu: no TPU is visible to TensorFlow here; use --strategy auto"
        )
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    return Placement(
        tf.distribute.TPUStrategy(resolver), "tpu", [d.name for d in tpus], accelerator
    )


def needs_rebuild(model: Any, placement: Placement) -> bool:
    """Whether ``model``'s variables live outside the chosen strategy (so it must be cloned)."""
    existing = getattr(model, "_distribute_strategy", None)
    if placement.name == "default":
        return existing is not None
    return existing is not placement.strategy


def rebuild(model: Any, placement: Placement, dtype: str | None = None) -> Any:
    """Clone ``model`` in the strategy's scope, optionally with a dtype policy; copy weights."""

    def clone_layer(layer: Any) -> Any:
        config = layer.get_config()
        if dtype is not None and layer is not last and "dtype" in config:
            config["dtype"] = dtype
        return layer.__class__.from_config(config)

    last = model.layers[-1] if getattr(model, "layers", None) else None
    with placement.strategy.scope():
        clone = keras.models.clone_model(model, clone_function=clone_layer)
        clone.set_weights(model.get_weights())
    return clone


# -- how fast -------------------------------------------------------------------------------


def _samples(x: Any) -> int | None:
    if x is None:
        return None
    if isinstance(x, Mapping):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)) and x and not np.isscalar(x[0]):
        first = x[0]
        x = first if hasattr(first, "shape") or isinstance(first, (list, tuple)) else x
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0]) if shape[0] is not None else None
    try:
        return len(x)
    except TypeError:
        return None


def steps_per_epoch(fit_args: Mapping[str, Any]) -> int | None:
    """Training steps in one epoch, or None when unknown (a dataset of unknown size)."""
    x = fit_args.get("x")
    if hasattr(x, "cardinality"):
        count = int(x.cardinality().numpy())
        return count if count > 0 else None
    samples = _samples(x)
    if samples is None:
        return None
    samples = int(samples * (1 - fit_args.get("validation_split", 0.0) or 0.0))
    return max(1, math.ceil(samples / (fit_args.get("batch_size") or 32)))


def estimated_step_seconds(model: Any, batch_size: int, on_gpu: bool) -> float:
    """A rough training-step time from the model's size (FLOPs), used before any measurement."""
    flops = 0.0
    for layer in model.layers if hasattr(model, "layers") else []:
        params = layer.count_params() if layer.built else 0
        try:
            shape = tuple(layer.output.shape)
        except Exception:
            shape = ()
        positions = math.prod(d for d in shape[1:-1] if d) if len(shape) > 2 else 1
        flops += 2.0 * params * positions
    per_step_overhead, throughput = (2e-5, 5e12) if on_gpu else (1e-4, 2e10)
    return per_step_overhead + 3.0 * flops * batch_size / throughput


def auto_steps_per_execution(
    model: Any, fit_args: Mapping[str, Any], on_gpu: bool
) -> tuple[int, str]:
    """Steps per execution that amortise per-step overhead while the live view stays responsive.

    Aims at one execution every :data:`TARGET_SECONDS_PER_EXECUTION` seconds, from
    the step time measured in the previous run of this model, else estimated
    from its size; never more than an epoch.
    """
    steps = steps_per_epoch(fit_args)
    batch_size = fit_args.get("batch_size") or 32
    measured = getattr(model, "_kreg_seconds_per_step", None)
    step_seconds = measured or estimated_step_seconds(model, batch_size, on_gpu)
    wanted = max(1, int(TARGET_SECONDS_PER_EXECUTION / max(step_seconds, 1e-7)))
    how = "measured" if measured else "estimated"
    if steps is not None and wanted >= steps:
        return steps, f"auto: one execution per epoch ({how} {step_seconds * 1e3:.2g} ms/step)"
    return wanted, (
        f"auto: ~{TARGET_SECONDS_PER_EXECUTION:g} s per execution ({how} "
        f"{step_seconds * 1e3:.2g} ms/step)"
    )


# -- the run --------------------------------------------------------------------------------


def compile_model(model: Any, compile_args: Mapping[str, Any], extra: Mapping[str, Any]) -> None:
    """``model.compile``; on failure the model's previous compile state is put back."""
    before = dict(model.__dict__)
    try:
        model.compile(**compile_args, **extra)
    except Exception:
        for key in list(model.__dict__):
            if key not in before:
                del model.__dict__[key]
        model.__dict__.update(before)
        raise


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
        ``SAFETY_COPY_LIMIT_GB``: a copy per epoch of a very big model would cost
        host memory and seconds; a fault then leaves the weights as they are.
        """
        optimizer = getattr(self.model, "optimizer", None)
        variables = getattr(optimizer, "variables", None) or []
        size = sum(_bytes(v) for v in [*self.model.weights, *variables]) / 2**30
        if size > SAFETY_COPY_LIMIT_GB:
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
            with self.model.distribute_strategy.scope():
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
        with self.model.distribute_strategy.scope():
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
        self.epoch_logs.append(dict(logs or {}))
        self.capture()
        self.saved_epoch = epoch + 1


@dataclass
class FitOutcome:
    """How :func:`fit` ended, describing the state the model is left in.

    ``history`` and ``epochs_completed`` cover the epochs whose training the
    weights include, ``steps_completed`` the steps; ``steps_run`` counts every
    step run (for throughput); ``restored`` says the weights were put back to an
    epoch end; ``step_fault`` that a step itself failed (NaN, out of memory);
    ``error`` is the exception that ended training (None when it finished or was
    stopped; a ``KeyboardInterrupt`` for an interrupt); ``initial_weights`` are
    the weights training started from (None above ``SAFETY_COPY_LIMIT_GB``).

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
    view: Any,
    verbose: int,
    on_interrupt: Callable[[str], None],
    device: str = "",
) -> FitOutcome:
    """``model.fit`` with the live view, made safe against the faults of a long run.

    What the model holds afterwards (:class:`FitOutcome` describes it; its
    ``stopped``, the reason training ended early, also goes to ``on_interrupt``):

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
        >>> from kreg.notebook.liveplot import LiveView
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(loss="mse", optimizer="sgd")
        >>> data = {"x": np.ones((4, 1)), "y": np.array([[1.0], [2.0], [np.nan], [3.0]]),
        ...         "batch_size": 2, "epochs": 2, "shuffle": False}
        >>> outcome = fit(model, data, LiveView(epochs=2, mode="off"), 0, lambda reason: None)
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
        model.fit(**arguments, callbacks=[guard, *callbacks, view])
    except (Exception, KeyboardInterrupt) as caught:
        error = caught
    finally:
        if filtering:
            keras.config.enable_traceback_filtering()
    outcome = FitOutcome(
        history={}, error=error, steps_run=guard.steps_run(), initial_weights=guard.initial_weights
    )
    culprit = _failing_callback(error, callbacks) if error is not None else None
    if error is not None:
        # Keep the traceback's lines, not its frames' locals (data, tensors: memory).
        traceback.clear_frames(error.__traceback__)
    step_fault = outcome.step_fault = guard.nan_at is not None or (
        error is not None
        and culprit is None
        and guard.in_step
        and not isinstance(error, KeyboardInterrupt)
    )
    if step_fault:
        outcome.restored = guard.nan_restored if guard.nan_at is not None else guard.restore()
        steps = guard.saved_steps if outcome.restored else guard.steps_run()
        outcome.epochs_completed, outcome.steps_completed = guard.epochs_done, steps
    else:
        outcome.epochs_completed, outcome.steps_completed = guard.epochs_done, guard.steps_run()
    outcome.history = _completed_history(view.history, guard, outcome.epochs_completed)
    if (
        error is not None
        and culprit is None
        and not isinstance(error, KeyboardInterrupt)
        and not _out_of_memory(error)
        and guard.steps == 0
        and guard.epochs_done == 0
    ):
        raise error  # nothing ran: Keras refused the configuration (or the data)
    kept = _kept(outcome, guard)
    kept_sentence = kept[0].upper() + kept[1:]
    if isinstance(error, KeyboardInterrupt):
        outcome.stopped = (
            f"interrupted {_where(guard)}, after {guard.epochs_done} complete epoch(s) and "
            f"{_partial_steps(guard)} more step(s); {kept}"
        )
    elif culprit is not None:
        callback, hook = culprit
        outcome.stopped = (
            f"the callback {type(callback).__name__} raised {type(error).__name__} in {hook} "
            f"{_where(guard, hook)}: {_cause(error)}. {kept_sentence}"
        )
    elif error is not None and _out_of_memory(error):
        outcome.stopped = (
            f"out of memory on {_device_of(error, device)} ({type(error).__name__}) "
            f"{_where(guard)}: {_memory_advice(model, fit_args)}. {kept_sentence}"
        )
    elif error is not None:
        outcome.stopped = (
            f"training failed {_where(guard)}: {type(error).__name__}: {_cause(error)}. "
            f"{kept_sentence}"
        )
    elif guard.nan_at is not None:
        epoch, step = guard.nan_at
        what = "NaN" if math.isnan(guard.nan_value) else "infinite"
        outcome.stopped = (
            f"the loss became {what} at epoch {epoch + 1}, step {step}: lower the learning "
            "rate, add clipnorm=1.0 to the optimizer, or check the data for NaN/inf. "
            f"{kept_sentence}"
        )
    elif getattr(model, "stop_training", False):
        losses = view.history.get("loss") or []
        if len(losses) < arguments.get("epochs", 1) - arguments.get("initial_epoch", 0):
            outcome.stopped = (
                f"stopped after {len(losses)} complete epoch(s): model.stop_training was set "
                "(the Stop button or a callback); the model keeps its trained weights"
            )
    if (
        not step_fault
        and guard.epoch is not None
        and getattr(view, "last_epoch", None) == guard.epoch
        and getattr(view, "last_step", guard.epoch_step) < guard.epoch_step
    ):
        # The view is the last callback: one that failed before it hid this step from it.
        view.last_step = guard.epoch_step
    if outcome.stopped is not None:
        on_interrupt(outcome.stopped)
    return outcome


def _failing_callback(error: BaseException, callbacks: list[Any]) -> tuple[Any, str] | None:
    """The user callback (and its hook) in whose code ``error`` was raised, if any."""
    tb = error.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and any(owner is callback for callback in callbacks):
            return owner, tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return None


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an out-of-memory error (possibly wrapped by ``tf.py_function``)."""
    if isinstance(error, (tf.errors.ResourceExhaustedError, MemoryError)):
        return True
    text = str(error)
    return "ResourceExhaustedError" in text or "OOM when allocating" in text


def _device_of(error: BaseException, fallback: str) -> str:
    """The device an OOM message names (``GPU:0``), else ``fallback``."""
    import re

    if isinstance(error, MemoryError):
        return "the host (CPU memory)"
    found = re.search(r"/device:([A-Za-z_]+:\d+)", str(error))
    return found.group(1) if found else (fallback or "the accelerator")


def _memory_advice(model: Any, fit_args: Mapping[str, Any]) -> str:
    """A smaller batch (the current size and half of it) and/or --mixed-precision."""
    x = fit_args.get("x")
    if hasattr(x, "cardinality") or (fit_args.get("batch_size") is None and _samples(x) is None):
        advice = "make the dataset's batches smaller"
    else:
        size = int(fit_args.get("batch_size") or 32)
        advice = (
            f"use a smaller batch_size (now {size}; try batch_size = {size // 2})"
            if size > 1
            else "use a smaller model or shorter inputs (batch_size is already 1)"
        )
    layers = getattr(model, "layers", None) or []
    policy = getattr(getattr(layers[0], "dtype_policy", None), "name", "") if layers else ""
    if not policy.startswith("mixed"):
        advice += " or add --mixed-precision (about half the activation memory)"
    return advice


def _cause(error: BaseException) -> str:
    """The error's message, its first line and at most 300 characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else repr(error)
    return text if len(text) <= 300 else text[:297] + "..."


def _where(guard: FaultGuard, hook: str = "") -> str:
    """``in epoch 3``, ``after step 5 of epoch 2``, ``at the end of epoch 1``..."""
    if guard.epoch is None:
        return "before the first epoch"
    epoch = guard.epoch + 1
    if hook == "on_epoch_begin":
        return f"at the start of epoch {epoch}"
    if hook == "on_train_batch_begin":
        return f"before step {guard.epoch_step + 1} of epoch {epoch}"
    if hook == "on_train_end":
        return "after the last epoch"
    if guard.epoch_ended or hook == "on_epoch_end":
        return f"at the end of epoch {epoch}"
    if hook:
        return f"after step {guard.epoch_step} of epoch {epoch}"
    if guard.in_step:
        return f"in step {guard.epoch_step + 1} of epoch {epoch}"
    return f"in epoch {epoch}"


def _partial_steps(guard: FaultGuard) -> int:
    """Steps completed after the last completed epoch (optimizer's count when further on)."""
    return guard.steps_run() - guard.saved_steps


def _kept(outcome: FitOutcome, guard: FaultGuard) -> str:
    """Which weights the model kept, in words."""
    if outcome.restored:
        where = (
            f"the end of epoch {guard.saved_epoch}"
            if guard.epochs_done
            else "where training started"
        )
        return (
            f"the model and its optimizer were put back to {where} ({outcome.steps_completed} "
            f"step(s) in this run; {outcome.epochs_completed} complete epoch(s) in the history)"
        )
    if guard.copy_skipped_gb is not None and outcome.step_fault:
        return (
            "the model keeps the weights the failing step left (they may hold NaN or a partial "
            f"update): its state is {guard.copy_skipped_gb:.1f} GB, over the "
            f"{SAFETY_COPY_LIMIT_GB:g} GB kreg copies at each epoch end (KREG_SAFETY_COPY_GB "
            "raises the limit)"
        )
    return (
        "the model keeps the weights of its last completed step "
        f"({outcome.steps_completed} step(s) in this run)"
    )


def _bytes(variable: Any) -> int:
    """The size of a variable's value, from its shape and dtype (nothing is copied)."""
    count = math.prod(int(d or 0) for d in getattr(variable, "shape", ()))
    try:
        itemsize = np.dtype(keras.backend.standardize_dtype(variable.dtype)).itemsize
    except (TypeError, ValueError, AttributeError):
        itemsize = 4
    return count * itemsize


def _completed_history(
    recorded: Mapping[str, list[float]], guard: FaultGuard, epochs: int
) -> dict[str, list[float]]:
    """The view's history cut to ``epochs``, with epochs it missed taken from the guard.

    The view is the last callback: an exception in an earlier callback's
    ``on_epoch_end`` leaves an epoch that the weights include out of its record.
    """
    history = {key: list(values)[:epochs] for key, values in recorded.items() if values[:epochs]}
    have = len(history.get("loss", []))
    for logs in guard.epoch_logs[have:epochs]:
        for key, value in logs.items():
            try:
                history.setdefault(key, []).append(float(np.asarray(value)))
            except (TypeError, ValueError):
                continue
    return history


def train(
    model: Any,
    spec: Any,
    options: Options,
    placement: Placement,
    model_name: str = "model",
    announce: Callable[[str], None] | None = None,
    view: Any = None,
) -> Run:
    """Compile ``model`` with ``spec`` and fit it if the cell has data; return the :class:`Run`.

    ``announce`` receives one line naming devices, strategy, precision, XLA and
    steps_per_execution, before training starts. ``view`` replaces the default
    :class:`~kreg.notebook.liveplot.LiveView` (the widgets pass their own).

    An interrupt, a NaN loss or ``model.stop_training`` ends training early and the
    Run says so in ``stopped``; an exception during training (a callback's, out of
    memory, a failed step) raises :class:`TrainingFault` once the Run is complete,
    with the Run in its ``run``. :func:`fit` says which weights the model keeps.
    """
    from kreg.notebook.liveplot import LiveView

    on_gpu = bool(tf.config.list_logical_devices("GPU"))
    if options.steps_per_execution == "auto":
        if spec.trains:
            spe, reason = auto_steps_per_execution(model, spec.fit_args, on_gpu)
        else:
            spe, reason = 1, "nothing to train"
    else:
        spe, reason = int(options.steps_per_execution), "--steps-per-execution"
    if (
        spe > 1
        and placement.name != "default"
        and not isinstance(placement.strategy, tf.distribute.OneDeviceStrategy)
    ):
        # Keras 3.15 / TensorFlow 2.21: the multi-step loop under MirroredStrategy fails with
        # "You must feed a value for placeholder tensor 'while/cond/Placeholder_1'".
        spe, reason = 1, f"1 under {placement.name}: Keras's multi-step loop fails there"
    jit = "auto" if options.jit is None else options.jit
    extra = {"steps_per_execution": spe, "jit_compile": jit}
    with placement.strategy.scope():
        compile_model(model, spec.compile_args, extra)
    resolved_jit = bool(getattr(model, "jit_compile", False))
    precision = keras.mixed_precision.global_policy().name
    if model.layers:
        precision = getattr(model.layers[0].dtype_policy, "name", precision)
    run = Run(
        spec=spec,
        model=model,
        model_name=model_name,
        device=placement.describe(),
        strategy=placement.name,
        precision=precision,
        jit_compile=resolved_jit,
        steps_per_execution=spe,
        steps_per_execution_reason=reason,
        notes=list(spec.notes),
    )
    if announce is not None:
        announce(
            f"{placement.describe()} · precision {precision} · XLA "
            f"{'on' if resolved_jit else 'off'} · steps_per_execution {spe} ({reason})"
        )
    if not spec.trains:
        return run
    steps = steps_per_epoch(spec.fit_args)
    batch_size = spec.fit_args.get("batch_size") or (
        None if hasattr(spec.fit_args["x"], "cardinality") else 32
    )
    epochs = spec.fit_args.get("epochs", 1)
    if view is None:
        view = LiveView(
            epochs=epochs,
            steps_per_epoch=steps,
            batch_size=batch_size,
            plot=options.plot,
            mode=options.view_mode,
            title=f"{model_name} · {placement.describe()}",
        )
    run.view = view
    started = time.perf_counter()
    try:
        outcome = fit(
            model, spec.fit_args, view, options.verbose, view.stopped, placement.describe()
        )
    finally:
        run.wall_seconds = time.perf_counter() - started
        view.finish()
    run.history = {k: list(v) for k, v in outcome.history.items()}
    run.stopped = outcome.stopped
    run.epochs_completed = outcome.epochs_completed
    run.steps_completed = outcome.steps_completed
    run.error = outcome.error
    run.initial_weights = outcome.initial_weights
    samples = outcome.steps_run * (batch_size or 0)
    run.samples_per_second = samples / run.wall_seconds if run.wall_seconds else 0.0
    if outcome.steps_run and outcome.error is None:
        model._kreg_seconds_per_step = run.wall_seconds / outcome.steps_run
    if outcome.error is not None and not isinstance(outcome.error, KeyboardInterrupt):
        fault = TrainingFault(outcome.stopped)
        fault.run = run
        raise fault from outcome.error
    return run
