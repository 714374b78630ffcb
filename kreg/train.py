"""Training a resolved cell: accelerator and strategy, speed settings, the fit loop, the Run.

Data flows one way: :mod:`kreg.spec` gives the built components; this module
picks where and how fast to run them, compiles, fits, and returns a
:class:`Run`. Nothing here parses or displays cells.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kreg.cellparse import STRATEGIES, Options
from kreg.errors import KregError

TARGET_SECONDS_PER_EXECUTION = 0.25
"""``--steps-per-execution auto`` aims at one execution per this many seconds (live view rate)."""


class TrainingSetupError(KregError):
    """The run cannot start as asked (no such device, strategy, or data shape)."""


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

    ``history`` is a dict of lists, like ``keras.callbacks.History.history``.
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
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)
    view: Any = None

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


def fit(
    model: Any,
    fit_args: Mapping[str, Any],
    view: Any,
    verbose: int,
    on_interrupt: Callable[[str], None],
) -> tuple[dict[str, list[float]], str | None]:
    """``model.fit`` with the live view; stops cleanly on KeyboardInterrupt and NaN."""
    arguments = dict(fit_args)
    callbacks = list(arguments.pop("callbacks", None) or [])
    nan_guard = keras.callbacks.TerminateOnNaN()
    arguments.setdefault("verbose", verbose)
    stopped = None
    try:
        model.fit(**arguments, callbacks=[*callbacks, nan_guard, view])
    except KeyboardInterrupt:
        done = len(view.history.get("loss", []))
        stopped = (
            f"interrupted in epoch {done + 1}, after {done} complete epoch(s); the model keeps "
            "the weights of its last completed step"
        )
        on_interrupt(stopped)
    if stopped is None and getattr(model, "stop_training", False):
        losses = view.history.get("loss") or []
        last_batch = [v for _, v in view.batches.get("loss", [])][-1:]
        if any(not np.isfinite(v) for v in losses[-1:] + last_batch):
            stopped = (
                f"the loss became NaN at epoch {view.last_epoch + 1}, step {view.last_step}: "
                "lower the learning rate, add clipnorm=1.0 to the optimizer, or check the data "
                "for NaN/inf"
            )
        elif len(losses) < arguments.get("epochs", 1) - arguments.get("initial_epoch", 0):
            stopped = (
                f"stopped after {len(losses)} complete epoch(s): model.stop_training was set "
                "(the Stop button or a callback); the model keeps its trained weights"
            )
        if stopped is not None:
            on_interrupt(stopped)
    return view.history, stopped


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
    history, stopped = fit(model, spec.fit_args, view, options.verbose, view.stopped)
    run.wall_seconds = time.perf_counter() - started
    view.finish()
    run.history = {k: list(v) for k, v in history.items()}
    run.stopped = stopped
    run.epochs_completed = len(next(iter(history.values()), []))
    samples = (steps or 0) * (batch_size or 0) * max(run.epochs_completed, 1)
    run.samples_per_second = samples / run.wall_seconds if run.wall_seconds else 0.0
    if steps and run.epochs_completed:
        model._kreg_seconds_per_step = run.wall_seconds / (steps * run.epochs_completed)
    return run
