"""What a ``%%kcompile`` cell does around :func:`kreg.training.runner.run_cell`, in a notebook.

It finds the model, shows ``--dry-run``, prints the one-line placement and the notes,
rebinds the model's variable when training rebuilt it, stores ``-o NAME``, and turns a
fault into one error message naming where the partial run is. The model is replaced
only after training, and never when the cell is refused.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from kreg.cell.parse import Cell
from kreg.cell.spec import CompileSpec
from kreg.errors import TrainingFault, TrainingSetupError
from kreg.training.options import RunOptions
from kreg.training.placement import Placement
from kreg.training.run import Run
from kreg.training.runner import plan_cell, run_cell
from kreg.training.view import MakeView, TrainingView, ViewSettings


def run_kcompile(
    namespace: dict[str, Any],
    model_name: str,
    cell: Cell,
    options: RunOptions,
    *,
    output: str | None = None,
    dry_run: bool = False,
    plot: bool = True,
) -> Run | None:
    """Run a parsed ``%%kcompile`` cell against ``namespace``; the Run (None for --dry-run).

    Raises:
        KregError: the cell, the model, the placement or the training failed (the
            message says what and where; a fault says where the partial run is).
    """
    model = model_in(namespace, model_name)
    plan = plan_cell(cell, model, namespace, options)
    if dry_run:
        from IPython.display import display

        display(DryRun(plan.spec, model_name, plan.placement, plan.findings))
        return None
    fault = None
    try:
        view = notebook_view(plot)
        run = run_cell(plan, model, model_name=model_name, make_view=view, announce=say)
    except TrainingFault as error:
        if error.run is None:
            raise
        fault, run = error, error.run
    if run.model is not model:
        namespace[model_name] = run.model
    if run.stopped and fault is None:
        say(f"stopped early: {run.stopped}")
    if output:
        namespace[output] = run
    if fault is not None:
        where = f"`{output}` and kreg.last_run" if output else "kreg.last_run"
        raise TrainingFault(
            f"{fault} The partial run is in {where}; its .error holds the exception and traceback.",
            run,
        ) from fault
    if options.export:
        folder = run.export(options.export)
        say(f"exported to {folder}; train it anywhere with `kreg train {folder}`")
    return run


def notebook_view(plot: bool = True) -> MakeView:
    """How a ``%%kcompile`` cell makes its live view: a figure (unless ``--no-plot``) and a line.

    Example:
        >>> from kreg.training.view import ViewSettings
        >>> view = notebook_view(plot=False)(ViewSettings(3, 10, 32, "model"))
        >>> view.plot, view.epochs
        (False, 3)
    """

    def make(settings: ViewSettings) -> TrainingView:
        from kreg.ui.liveview import LiveView

        return LiveView(
            epochs=settings.epochs,
            steps_per_epoch=settings.steps_per_epoch,
            batch_size=settings.batch_size,
            plot=plot,
            title=settings.title,
        )

    return make


def model_in(namespace: dict[str, Any], name: str) -> Any:
    """The ``keras.Model`` the cell names, or a :class:`TrainingSetupError` saying what is wrong.

    Example:
        >>> model_in({}, "net")
        Traceback (most recent call last):
        ...
        kreg.errors.TrainingSetupError: %%kcompile net: no variable named 'net' in the notebook.
    """
    if name not in namespace:
        variables = [k for k in namespace if isinstance(k, str) and not k.startswith("_")]
        close = get_close_matches(name, variables, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise TrainingSetupError(
            f"%%kcompile {name}: no variable named {name!r} in the notebook.{hint}"
        )
    model = namespace[name]
    import keras

    if not isinstance(model, keras.Model):
        raise TrainingSetupError(
            f"%%kcompile {name}: {name!r} is a {type(model).__name__}, not a keras.Model; "
            "build the model first (e.g. keras.Sequential([...]))"
        )
    return model


def say(line: str) -> None:
    """Print one of kreg's own lines under a cell (``kreg: ...``).

    Example:
        >>> say("model was rebuilt")
        kreg: model was rebuilt
    """
    print(f"kreg: {line}")


class DryRun:
    """What a ``--dry-run`` cell would do: Markdown in a notebook, plain text elsewhere.

    Example:
        >>> from kreg.cell.spec import CompileSpec
        >>> from kreg.training.placement import Placement
        >>> print(repr(DryRun(CompileSpec(), "net", Placement(None, "default", accelerator="CPU"))))
        dry run: nothing was compiled. Placement: CPU · default strategy.
        <BLANKLINE>
        <BLANKLINE>
        Plain Keras equivalent:
        <BLANKLINE>
        import keras
        <BLANKLINE>
        net.compile(
        )
    """

    def __init__(
        self,
        spec: CompileSpec,
        model_name: str,
        placement: Placement,
        findings: list[Any] | None = None,
    ) -> None:
        self.spec, self.model_name, self.placement = spec, model_name, placement
        self.findings = list(findings or [])

    def _lines(self, code: str) -> list[str]:
        lines = [f"dry run: nothing was compiled. Placement: {self.placement.describe()}.", ""]
        lines += [f"- {key} = {code_of}" for key, code_of in self.spec.code.items()]
        lines += [f"- note: {note}" for note in self.spec.notes]
        if self.findings:
            errors = sum(f.severity == "error" for f in self.findings)
            lines += [
                "",
                f"Preflight ({errors} error{'s' * (errors != 1)}; training would stop):"
                if errors
                else "Preflight:",
            ]
            lines += [f"- {finding}".replace("\n", "\n ") for finding in self.findings]
        return [*lines, "", "Plain Keras equivalent:", "", code]

    def __repr__(self) -> str:
        return "\n".join(self._lines(self.spec.to_code(self.model_name)))

    def _repr_markdown_(self) -> str:
        code = f"```python\n{self.spec.to_code(self.model_name)}\n```"
        return "\n".join(self._lines(code))
