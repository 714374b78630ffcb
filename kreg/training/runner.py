"""One cell, start to end: the path that ``%%kcompile`` and the widget share.

1. :func:`plan_cell`: choose the strategy, then resolve the cell in its scope (components
   that create variables, metrics say, must be built there); an export is checked now;
   preflight reads the model, the data and the components together (``plan.findings``).
   Nothing has touched the model yet, and ``--dry-run`` stops here.
2. :func:`run_cell`: preflight's errors stop here (unless ``--force``); the precision
   policy; the model rebuilt for the strategy or the policy if needed (the caller's
   variable is replaced only with the run's model); compile, with the previous compile
   state put back if Keras refuses; fit with a view (:func:`kreg.training.fit.fit`); the
   :class:`~kreg.training.run.Run`, which is also ``kreg.last_run``. The global dtype
   policy is always restored.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kreg.cell.parse import Cell, parse_cell
from kreg.cell.resolve import resolve_cell
from kreg.cell.spec import CompileSpec
from kreg.errors import KregError, PreflightError, TrainingFault, TrainingSetupError
from kreg.kerasext.backend import compiler_phrase
from kreg.preflight_checks import Preflight, preflight_spec
from kreg.preflight_checks.translate import retold
from kreg.training.options import RunOptions
from kreg.training.placement import Placement, needs_rebuild, place
from kreg.training.run import Run, remember
from kreg.training.view import MakeView, ViewSettings


@dataclass
class Plan:
    """A resolved cell and where it will run: all that is known before the model is touched.

    Example:
        >>> plan = plan_cell("loss = mse\\noptimizer = sgd", None, {})
        >>> plan.placement.name, type(plan.spec.compile_args["loss"]).__name__
        ('default', 'MeanSquaredError')
    """

    spec: CompileSpec
    placement: Placement
    options: RunOptions
    findings: Preflight = field(default_factory=Preflight)


def plan_cell(
    cell: str | Cell, model: Any, namespace: Mapping[str, Any], options: RunOptions | None = None
) -> Plan:
    """Choose where ``cell`` runs and resolve it there; change nothing.

    ``cell`` is a body of ``key = value`` lines (parsed here) or a parsed
    :class:`~kreg.cell.parse.Cell`. With ``options.export``, what an export cannot carry
    is refused now, before training.

    Raises:
        CellError: the cell is refused (line and column).
        TrainingSetupError: the strategy cannot be set up here.
        ExportError: the export asked for cannot hold this cell.
    """
    options = options or RunOptions()
    parsed = parse_cell(cell) if isinstance(cell, str) else cell
    placement = place(options.strategy, model)
    with placement.strategy.scope():
        spec = resolve_cell(parsed, namespace)
    if options.export:
        from kreg.training.export import check_exportable

        check_exportable(spec)  # say now, not after an hour of training
    findings = Preflight()
    if options.preflight and model is not None:
        findings = preflight_spec(model, spec)
    return Plan(spec, placement, options, findings)


def refuse_on_errors(plan: Plan, model_name: str = "model") -> None:
    """Raise :class:`~kreg.errors.PreflightError` when preflight found errors (not ``--force``).

    Example:
        >>> refuse_on_errors(plan_cell("loss = mse", None, {}))  # no model: nothing found
    """
    errors = plan.findings.errors
    if not errors or plan.options.force:
        return
    listed = "\n".join(str(finding) for finding in plan.findings)
    raise PreflightError(
        f"preflight stopped the cell before anything touched {model_name}:\n{listed}\n"
        "Fix the cell (each fix is above), or run it anyway with --force "
        "(--no-preflight skips these checks).",
        plan.findings,
    )


def run_cell(
    plan: Plan,
    model: Any,
    *,
    model_name: str = "model",
    make_view: MakeView | None = None,
    announce: Callable[[str], None] | None = None,
) -> Run:
    """Train ``model`` as ``plan`` says and return the :class:`~kreg.training.run.Run`.

    ``run.model`` is ``model``, or its clone when the strategy or ``--mixed-precision``
    needed one (``run.notes`` and ``announce`` say so): the caller then rebinds its
    variable. The run becomes ``kreg.last_run``, also after a fault.

    Raises:
        PreflightError: preflight found errors and ``--force`` was not given.
        TrainingSetupError: the model cannot be rebuilt, or Keras refused the compile.
        TrainingFault: training stopped on an error; ``fault.run`` is the partial Run.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> plan = plan_cell("loss = mse\\nx = x\\ny = y\\nepochs = 2", model,
        ...                  {"x": np.zeros((8, 2)), "y": np.zeros((8, 1))})
        >>> run = run_cell(plan, model)
        >>> run.epochs_completed, run.model is model
        (2, True)
    """
    import keras

    from kreg.training.precision import add_loss_scaling, mixed_policy, rebuild

    refuse_on_errors(plan, model_name)
    placement, spec = plan.placement, plan.spec
    previous_policy = keras.mixed_precision.global_policy()
    policy = mixed_policy() if plan.options.mixed_precision else None
    notes = []
    try:
        if policy is not None:
            keras.mixed_precision.set_global_policy(policy)
        target = model
        if policy is not None or needs_rebuild(model, placement):
            try:
                target = rebuild(model, placement, dtype=policy)
            except Exception as error:
                raise TrainingSetupError(
                    f"{model_name} must be rebuilt for {placement.name} / "
                    f"{policy or 'its precision'} but cannot be cloned ({type(error).__name__}: "
                    f"{error}); build it inside `with strategy.scope():` yourself (off "
                    "TensorFlow, with --mixed-precision: after "
                    "keras.mixed_precision.set_global_policy('mixed_bfloat16'))"
                ) from None
            where = (
                f"in the {placement.name} strategy's scope"
                if placement.backend == "tensorflow"
                else f"on the {placement.backend} backend"
                + ("" if placement.name == "default" else f" ({placement.name})")
            )
            notes.append(
                f"{model_name} was rebuilt {where}"
                + (f" with the {policy} policy" if policy else "")
                + f" (weights copied); `{model_name}` now names the new model"
            )
            if announce is not None:
                announce(notes[-1])
            add_loss_scaling(spec.compile_args, policy)
        try:
            run = _train(target, plan, model_name, make_view, announce)
        except TrainingFault as fault:
            if fault.run is not None:
                fault.run.notes[:0] = notes
                remember(fault.run)
            raise
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
    run.notes[:0] = notes
    remember(run)
    return run


def compile_model(model: Any, compile_args: Mapping[str, Any], extra: Mapping[str, Any]) -> None:
    """``model.compile``; on failure the model's previous compile state is put back.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> compile_model(model, {"loss": "mse", "optimizer": "no such optimizer"}, {})
        Traceback (most recent call last):
        ...
        ValueError: ...
        >>> model.compiled
        False
    """
    before = dict(model.__dict__)
    try:
        model.compile(**compile_args, **extra)
    except Exception:
        for key in list(model.__dict__):
            if key not in before:
                del model.__dict__[key]
        model.__dict__.update(before)
        raise


@contextlib.contextmanager
def _keras_refusals() -> Iterator[None]:
    """Keras's own exceptions (not kreg's) as a :class:`~kreg.errors.TrainingSetupError`, told
    as a preflight finding with its fix when kreg recognises the error."""
    try:
        yield
    except KregError:
        raise
    except Exception as error:
        message, _ = retold(
            error, f"Keras refused the configuration: {type(error).__name__}: {error}"
        )
        raise TrainingSetupError(message) from error


def _train(
    model: Any,
    plan: Plan,
    model_name: str,
    make_view: MakeView | None,
    announce: Callable[[str], None] | None,
) -> Run:
    """Compile ``model`` as ``plan`` says and fit it if the cell has data; return the Run.

    An interrupt, a NaN loss or ``model.stop_training`` ends training early and the
    Run says so in ``stopped``; an exception during training (a callback's, out of
    memory, a failed step) raises :class:`~kreg.errors.TrainingFault` once the Run is
    complete, with the Run in its ``run``.
    """
    from kreg.training.fit import fit
    from kreg.training.speed import choose_steps_per_execution, steps_per_epoch

    spec, placement, options = plan.spec, plan.placement, plan.options
    fit_args = spec.fit_args if spec.trains else None
    spe, reason = choose_steps_per_execution(
        options.steps_per_execution, model, fit_args, placement
    )
    extra = {
        "steps_per_execution": spe,
        "jit_compile": "auto" if options.jit is None else options.jit,
    }
    with _keras_refusals(), placement.strategy.scope():
        compile_model(model, spec.compile_args, extra)
    run = _new_run(model, plan, model_name, spe, reason)
    if announce is not None:
        announce(
            f"{placement.describe()} · precision {run.precision} · "
            f"{compiler_phrase(run.jit_compile)} · steps_per_execution {spe} ({reason})"
        )
        for finding in plan.findings:
            if finding.severity != "info":
                announce(f"preflight {finding}")
    if fit_args is None:
        return run
    batch_size = fit_args.get("batch_size") or (
        None if hasattr(fit_args["x"], "cardinality") else 32
    )
    if make_view is not None:
        settings = ViewSettings(
            epochs=fit_args.get("epochs", 1),
            steps_per_epoch=steps_per_epoch(fit_args),
            batch_size=batch_size,
            title=f"{model_name} · {placement.describe()}",
        )
        run.view = make_view(settings)
    started = time.perf_counter()
    try:
        with _keras_refusals(), placement.fit_scope():
            outcome = fit(model, fit_args, run.view, options.verbose, placement.describe())
    finally:
        run.wall_seconds = time.perf_counter() - started
        if run.view is not None:
            run.view.finish()
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
        message, read_as = outcome.stopped or str(outcome.error), None
        if outcome.steps_completed == 0:
            message, read_as = retold(outcome.error, message)
        if read_as is not None:
            run.findings.append(read_as)
        raise TrainingFault(message, run) from outcome.error
    return run


def _new_run(model: Any, plan: Plan, model_name: str, spe: int, reason: str) -> Run:
    import keras

    precision = keras.mixed_precision.global_policy().name
    if model.layers:
        precision = getattr(model.layers[0].dtype_policy, "name", precision)
    return Run(
        spec=plan.spec,
        model=model,
        model_name=model_name,
        device=plan.placement.describe(),
        strategy=plan.placement.name,
        precision=precision,
        jit_compile=bool(getattr(model, "jit_compile", False)),
        steps_per_execution=spe,
        steps_per_execution_reason=reason,
        notes=list(plan.spec.notes),
        findings=list(plan.findings),
    )
