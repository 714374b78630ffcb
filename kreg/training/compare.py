"""Train several configurations from one start: every run on a copy of the model.

Every alternative is resolved (and preflighted) before anything trains, so a bad
alternative stops the comparison with nothing trained. Each run then starts from
the model's current weights, on a clone made in the strategy's scope, with the
same seed (the same data order and dropout). The model itself is left as it was,
unless ``keep_best``: then the best run's model (weights, compile state, optimizer
state) is returned for the caller to bind. A NaN or an error ends that run only
(marked failed, with its advice); an interrupt ends the comparison and keeps the
runs already finished.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kreg.cell.alternatives import Alternative
from kreg.errors import TrainingFault, TrainingSetupError
from kreg.training.options import RunOptions
from kreg.training.runner import Plan, plan_cell, refuse_on_errors, run_cell
from kreg.training.runset import RunSet
from kreg.training.view import TrainingView, ViewSettings

MakeRunView = Callable[[int, ViewSettings], TrainingView]
"""Builds the view of run ``index`` of a comparison."""
SEED = 0
"""Every run of a comparison starts with ``keras.utils.set_random_seed(SEED)``."""


def plan_alternatives(
    alternatives: list[Alternative],
    model: Any,
    namespace: Mapping[str, Any],
    options: RunOptions,
    model_name: str = "model",
    refuse: bool = True,
) -> list[Plan]:
    """Resolve and preflight every alternative; raise at the first that cannot run.

    ``refuse=False`` (``--dry-run``) keeps preflight's errors in the plans instead.

    Raises:
        CellError: an alternative does not resolve (line and column).
        PreflightError: preflight found errors in an alternative (not ``--force``).
        TrainingSetupError: an alternative has no data to train on.

    Example:
        >>> from kreg.cell.alternatives import expand
        >>> from kreg.cell.parse import parse_cell
        >>> cell = parse_cell("loss = mse\\noptimizer = compare(adam, sgd)\\nx = x\\ny = x")
        >>> plans = plan_alternatives(expand(cell), None, {"x": [[1.0]]}, RunOptions())
        >>> [type(p.spec.compile_args["optimizer"]).__name__ for p in plans]
        ['Adam', 'SGD']
    """
    plans = []
    for alternative in alternatives:
        plan = plan_cell(alternative.cell, model, namespace, options)
        if not plan.spec.trains:
            raise TrainingSetupError(
                "compare(...) trains every alternative: give the cell its data (x = ..., and "
                "y = ... unless x is a dataset)"
            )
        if refuse:
            refuse_on_errors(plan, model_name)
        plans.append(plan)
    return plans


def default_rank_by(plan: Plan) -> str:
    """``val_loss`` when the run validates (validation data or split), else ``loss``.

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> plan = plan_cell(parse_cell("x = x\\nvalidation_split = 0.2"), None, {"x": [[1.0]]})
        >>> default_rank_by(plan)
        'val_loss'
    """
    fit_args = plan.spec.fit_args
    validates = fit_args.get("validation_data") is not None or fit_args.get("validation_split")
    return "val_loss" if validates else "loss"


def fresh_copy(model: Any, weights: list[Any], plan: Plan) -> Any:
    """A clone of ``model`` holding ``weights``, made in ``plan``'s strategy scope.

    Raises:
        TrainingSetupError: Keras cannot clone the model (a subclassed model without
            ``get_config``): the message says how to compare such a model.
    """
    import keras

    try:
        with plan.placement.strategy.scope():
            clone = keras.models.clone_model(model)
            clone.set_weights(weights)
    except Exception as error:
        raise TrainingSetupError(
            f"compare(...) trains each alternative on a copy of the model, and Keras cannot "
            f"clone this one ({type(error).__name__}: {error}); give the model a get_config "
            "(or build it with the functional API), or compare in separate cells"
        ) from None
    return clone


def compare_plans(
    model: Any,
    alternatives: list[Alternative],
    plans: list[Plan],
    *,
    model_name: str = "model",
    make_view: MakeRunView | None = None,
    announce: Callable[[str], None] | None = None,
    rank_by: str | None = None,
    keep_best: bool = False,
) -> RunSet:
    """Train each plan on a fresh copy of ``model``; return the :class:`RunSet`.

    ``model`` itself is never trained. With ``keep_best``, ``RunSet.kept`` names the best
    run, whose ``.model`` the caller binds in the model's place.

    Example:
        >>> import keras, numpy as np
        >>> from kreg.cell.alternatives import expand
        >>> from kreg.cell.parse import parse_cell
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> cell = parse_cell("loss = mse\\noptimizer = compare(sgd, adam)\\nx = x\\ny = y")
        >>> data = {"x": np.ones((8, 2)), "y": np.ones((8, 1))}
        >>> plans = plan_alternatives(expand(cell), model, data, RunOptions())
        >>> runs = compare_plans(model, expand(cell), plans)
        >>> runs.labels, model.compiled  # the model itself never trains
        (['optimizer=sgd', 'optimizer=adam'], False)
    """

    rank_by = rank_by or default_rank_by(plans[0])
    start = [w.copy() for w in model.get_weights()]
    runset = RunSet(
        [], [a.label for a in alternatives], [a.settings for a in alternatives], rank_by
    )
    with _frozen_heap():
        _train_each(runset, model, alternatives, plans, start, model_name, make_view, announce)
    if keep_best:
        best = runset.best  # raises when no run finished
        runset.kept = runset.runs.index(best)
    return runset


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Python's garbage collector leaves what exists now alone until the runs are done.

    With TensorFlow loaded, a full collection scans hundreds of thousands of objects
    (0.2-0.4 s in a kernel), and the live figure's allocations set one off about once
    per comparison, in the middle of training. Frozen, a full collection scans only what
    the runs create; everything is handed back to the collector afterwards.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _train_each(
    runset: RunSet,
    model: Any,
    alternatives: list[Alternative],
    plans: list[Plan],
    start: list[Any],
    model_name: str,
    make_view: MakeRunView | None,
    announce: Callable[[str], None] | None,
) -> None:
    """Train the runs one after another into ``runset`` (see :func:`compare_plans`)."""
    import keras

    total = len(plans)
    for index, (alternative, plan) in enumerate(zip(alternatives, plans)):
        if announce is not None:
            announce(f"run {index + 1}/{total}: {alternative.label}")
        try:
            clone = fresh_copy(model, start, plan)
            keras.utils.set_random_seed(SEED)
            view = None if make_view is None else _indexed(make_view, index)
            run = run_cell(
                plan,
                clone,
                model_name=model_name,
                make_view=view,
                announce=announce if index == 0 else None,
            )
        except KeyboardInterrupt:  # between runs (fit() itself turns one into `stopped`)
            runset.stop_after(index)
            break
        except TrainingFault as fault:
            if fault.run is None:
                raise
            run = fault.run
            runset.failed[index] = str(fault)
        if run.stopped and "NaN" in run.stopped:
            runset.failed[index] = run.stopped
        runset.runs.append(run)
        if run.stopped and run.stopped.startswith("interrupted"):
            runset.stop_after(index + 1)
            break


def _indexed(make_view: MakeRunView, index: int) -> Callable[[ViewSettings], TrainingView]:
    def make(settings: ViewSettings) -> TrainingView:
        return make_view(index, settings)

    return make
