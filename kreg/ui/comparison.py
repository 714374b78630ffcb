"""Compare configurations from a cell (``compare(...)`` in ``%%kcompile``) or from Python.

Both paths expand the alternatives, resolve and preflight all of them before anything
trains, train each on a copy of the model from the same weights and seed under one
live figure (:class:`~kreg.ui.liveview.compare.ComparisonView`), and end with the
:class:`~kreg.training.runset.RunSet`, which is also ``kreg.last_run``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kreg.cell.alternatives import Alternative, expand
from kreg.cell.parse import Cell, parse_cell
from kreg.errors import TrainingSetupError
from kreg.training.compare import compare_plans, plan_alternatives
from kreg.training.options import RunOptions
from kreg.training.run import remember
from kreg.training.runset import RunSet


def run_comparison(
    namespace: dict[str, Any],
    model_name: str,
    cell: Cell,
    options: RunOptions,
    *,
    output: str | None = None,
    dry_run: bool = False,
    plot: bool = True,
    keep_best: bool = False,
    rank_by: str | None = None,
    mode: str = "auto",
) -> RunSet | None:
    """Run a ``%%kcompile`` cell holding ``compare(...)``; the RunSet (None for --dry-run).

    Raises:
        KregError: an alternative does not resolve or fails preflight (nothing trained),
            ``--export`` was given, or the model cannot be copied.
    """
    from kreg.ui.notebook.runner import model_in, say

    model = model_in(namespace, model_name)
    alternatives = expand(cell)
    plans = plan_alternatives(
        alternatives, model, namespace, options, model_name, refuse=not dry_run
    )
    if dry_run:
        from IPython.display import display

        display(ComparisonDryRun(alternatives, plans, model_name))
        return None
    if options.export:
        raise TrainingSetupError(
            "--export writes one run, and compare(...) makes several: export the one you want "
            "afterwards, e.g. runs.best.export(PATH)"
        )
    runset = _train(model, alternatives, plans, model_name, plot, keep_best, rank_by, mode)
    if runset.kept is not None:
        namespace[model_name] = runset.runs[runset.kept].model
        say(
            f"--keep best: `{model_name}` now names run {runset.kept + 1}'s model "
            f"({runset.labels[runset.kept]}), the best by {runset.rank_by}"
        )
    if output:
        namespace[output] = runset
    _show(runset.table(), mode)
    return runset


def compare(
    model: Any,
    specs: Sequence[Mapping[str, Any] | str],
    *,
    plot: bool = True,
    keep_best: bool = False,
    rank_by: str | None = None,
    options: RunOptions | None = None,
    mode: str = "auto",
    on_line: Callable[[str], None] | None = None,
    on_figure: Callable[[bytes], None] | None = None,
    **fit: Any,
) -> RunSet:
    """Train ``model``'s copies once per spec, from the same weights and data order.

    Each spec is a dict of compile (or ``epochs``/``batch_size``) settings, whose
    string values are read as in a ``%%kcompile`` cell (``"sgd(momentum=0.9)"``) and
    other values used as they are, or a cell body. ``fit`` holds what every run
    shares (``x``, ``y``, ``epochs``, ``validation_split``...). ``on_line`` and
    ``on_figure`` receive the progress line and the figure's PNG instead of the
    notebook (the widget's "Compare" uses them). With ``keep_best``,
    ``RunSet.best.model`` is the one to keep (``model`` itself never changes here).

    Raises:
        KregError: a spec does not resolve or fails preflight (nothing trained).

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> runs = compare(model, [{"optimizer": "sgd"}, {"optimizer": "adam(learning_rate=0.1)"}],
        ...                loss="mse", x=np.ones((8, 2)), y=np.ones((8, 1)), epochs=2, mode="off")
        >>> runs.labels, len(runs.runs[1].history["loss"])
        (['optimizer=sgd', 'optimizer=adam(learning_rate=0.1)'], 2)
    """
    namespace: dict[str, Any] = {}
    shared = [_line(key, value, "shared", namespace) for key, value in fit.items()]
    cells, shown = [], []
    for index, spec in enumerate(specs):
        if isinstance(spec, str):
            lines = [line for line in spec.strip().splitlines() if line.strip()]
            written = {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in lines)}
        else:
            lines = [_line(key, value, f"spec{index}", namespace) for key, value in spec.items()]
            written = {key: _shown(value) for key, value in spec.items()}
        cells.append(parse_cell("\n".join([*lines, *shared]), first_line=1))
        shown.append(written)
    keys = list(dict.fromkeys(key for written in shown for key in written))
    differing = [k for k in keys if len({written.get(k, "-") for written in shown}) > 1]
    alternatives = [
        Alternative(cell, {k: written.get(k, "-") for k in differing})
        for cell, written in zip(cells, shown)
    ]
    options = options or RunOptions()
    plans = plan_alternatives(alternatives, model, namespace, options)
    views = {"on_line": on_line, "on_figure": on_figure}
    return _train(model, alternatives, plans, "model", plot, keep_best, rank_by, mode, views)


def _line(key: str, value: Any, prefix: str, namespace: dict[str, Any]) -> str:
    """``key = value`` for a cell: strings as written, other values through a variable."""
    if isinstance(value, str) and key not in ("x", "y"):
        return f"{key} = {value}"
    name = f"kreg_{prefix}_{key}"
    namespace[name] = value
    return f"{key} = {name}"


def _shown(value: Any) -> str:
    """A setting as a legend shows it: strings as written, numbers, else the class name."""
    if isinstance(value, (str, int, float)):
        return str(value)
    return type(value).__name__


def _train(
    model: Any,
    alternatives: list[Alternative],
    plans: list[Any],
    model_name: str,
    plot: bool,
    keep_best: bool,
    rank_by: str | None,
    mode: str,
    views: dict[str, Any] | None = None,
) -> RunSet:
    from kreg.ui.liveview.compare import ComparisonView
    from kreg.ui.notebook.runner import say

    view = ComparisonView([a.label for a in alternatives], plot=plot, mode=mode, **(views or {}))
    try:
        runset = compare_plans(
            model,
            alternatives,
            plans,
            model_name=model_name,
            make_view=view.view_for,
            announce=say if mode != "off" else None,
            rank_by=rank_by,
            keep_best=keep_best,
        )
    finally:
        view.finish()
    runset.view = view
    remember(runset)
    return runset


def _show(table: Any, mode: str) -> None:
    from kreg.ui.liveview.sinks import resolve_mode

    shown = resolve_mode(mode)
    if shown == "notebook":
        from IPython.display import display

        display(table)
    elif shown == "text":
        print(table)


class ComparisonDryRun:
    """What a ``--dry-run`` comparison would train: each run's settings, preflight's
    findings and plain Keras code.

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> from kreg.training.runner import plan_cell
        >>> cell = parse_cell("loss = compare(mse, mae)")
        >>> plans = [plan_cell(a.cell, None, {}) for a in expand(cell)]
        >>> print(repr(ComparisonDryRun(expand(cell), plans, "m")).splitlines()[2])
        run 1: loss=mse
    """

    def __init__(self, alternatives: list[Alternative], plans: list[Any], model_name: str) -> None:
        self.alternatives, self.plans, self.model_name = alternatives, plans, model_name

    def __repr__(self) -> str:
        count = len(self.alternatives)
        lines = [
            f"dry run: nothing was compiled. compare(...) would train {count} "
            f"run{'s' * (count != 1)} of {self.model_name}, each from the same weights:"
        ]
        for index, (alternative, plan) in enumerate(zip(self.alternatives, self.plans), 1):
            lines += ["", f"run {index}: {alternative.label}"]
            lines += [f"preflight {finding}" for finding in plan.findings]
            lines.append(plan.spec.to_code(self.model_name))
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return "```\n" + repr(self) + "\n```"
