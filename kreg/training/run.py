"""The result of a run (:class:`Run`), and the latest one of this process (``kreg.last_run``).

Importing this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kreg.errors import KregError
from kreg.kerasext.backend import compiler_phrase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.cell.spec import CompileSpec
    from kreg.training.view import TrainingView

_latest: Any = None


def latest_run() -> Any:
    """The latest :class:`Run` (or comparison's ``RunSet``) of this process (``kreg.last_run``).

    Example:
        >>> remember(Run(spec=None)) is latest_run()
        True
    """
    return _latest


def remember(run: Any) -> Any:
    """Make ``run`` (a :class:`Run` or a ``RunSet``) the latest (``kreg.last_run``); return it."""
    global _latest
    _latest = run
    return run


@dataclass
class Run:
    """One run of a cell: what was compiled, where, how fast, and what it learnt.

    ``history`` is a dict of lists, like ``keras.callbacks.History.history``. After
    an early stop or a fault, ``history`` and ``epochs_completed`` cover the epochs
    whose training the model's weights include and ``steps_completed`` its steps;
    ``stopped`` says why and which weights were kept, ``error`` holds the exception
    (see :func:`kreg.training.fit.fit`).

    Example:
        >>> print(Run(spec=None, model_name="net", device="CPU (2 cores)").summary())
        net: CPU (2 cores); precision float32; XLA off; steps_per_execution 1 ()
    """

    spec: CompileSpec | None
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
    view: TrainingView | None = None
    initial_weights: list[Any] | None = field(default=None, repr=False)
    findings: list[Any] = field(default_factory=list)
    """What preflight found (a :class:`~kreg.preflight_checks.Preflight`; empty if skipped)."""

    def export(
        self, path: str | os.PathLike[str], weights: str = "initial", data: bool = True
    ) -> Path:
        """Write this run to the folder ``path`` for ``kreg train`` (:mod:`~kreg.training.export`).

        The folder holds ``model.keras`` (with the weights the run started from,
        or ``weights="trained"``), ``run.json`` (components by qualified name and
        config, fit settings, plugins needed), the data (``data=False`` leaves it
        out) and a README line. Returns the folder's path.

        Example:
            >>> Run(spec=None).export("somewhere")
            Traceback (most recent call last):
            ...
            kreg.errors.ExportError: nothing to export: ...
        """
        from kreg.training.export import export_run

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
        """The training curves as a PNG image (an ``IPython.display.Image``).

        Example:
            >>> Run(spec=None).plot()
            Traceback (most recent call last):
            ...
            kreg.errors.KregError: this run has no live view to plot (it only compiled)
        """
        from IPython.display import Image

        if self.view is None:
            raise KregError("this run has no live view to plot (it only compiled)")
        return Image(data=self.view.figure_png())

    def summary(self) -> str:
        """One paragraph: where it ran, how fast, how it ended, the final metrics.

        Example:
            >>> run = Run(spec=None, history={"loss": [0.5, 0.25]}, epochs_completed=2)
            >>> print(run.summary().splitlines()[1])
            2 epochs in 0.00 s (0 samples/s): loss 0.25
        """
        lines = [
            f"{self.model_name}: {self.device}; precision {self.precision}; "
            f"{compiler_phrase(self.jit_compile)}; steps_per_execution "
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
        lines.extend(
            f"preflight {f.severity}: {f.message}" for f in self.findings if f.severity != "info"
        )
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
