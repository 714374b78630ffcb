"""RunSet: the runs of one comparison (``compare(...)`` in ``%%kcompile``, :func:`kreg.compare`).

Each run is a :class:`~kreg.training.run.Run` (with its own ``to_code()``); the set
ranks them by one metric's final value, shows a table (HTML in a notebook, text in a
terminal), names the best, and plots every run in one figure.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

from kreg.errors import KregError
from kreg.training.run import Run

_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "iou", "r2", "dice")


def higher_is_better(metric: str) -> bool:
    """Whether a bigger ``metric`` is better (accuracy, AUC...), as Keras's ``mode="auto"``.

    Example:
        >>> higher_is_better("val_accuracy"), higher_is_better("val_loss")
        (True, False)
    """
    name = metric.removeprefix("val_").lower()
    return "loss" not in name and any(word in name for word in _HIGHER_IS_BETTER)


@dataclass
class RunSet:
    """The runs of one comparison, from the same weights and the same data order.

    Attributes:
        runs: one :class:`Run` per alternative that trained (a run that failed is
            kept, with ``failed`` saying why).
        labels: each run's differing settings (``optimizer=sgd(momentum=0.9)``).
        settings: each run's differing settings as ``{key: text}``.
        rank_by: the metric runs are ranked by (its final value).
        failed: ``{index: why}`` for runs that ended in NaN or an error.
        skipped: labels of the runs an interrupt left untrained.
        kept: the index of the run ``--keep best`` put into the model, or None.

    Example:
        >>> run = Run(spec=None, history={"loss": [0.5, 0.25]}, epochs_completed=2)
        >>> runs = RunSet([run], ["optimizer=adam"], [{"optimizer": "adam"}], "loss")
        >>> runs.best is run, runs.ranked() == [0]
        (True, True)
    """

    runs: list[Run]
    labels: list[str]
    settings: list[dict[str, str]]
    rank_by: str
    failed: dict[int, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    kept: int | None = None
    view: Any = field(default=None, repr=False)

    def stop_after(self, count: int) -> None:
        """An interrupt ended the comparison after ``count`` runs: the rest are skipped.

        Example:
            >>> runs = RunSet([], ["a", "b", "c"], [{}, {}, {}], "loss")
            >>> runs.stop_after(1); runs.labels, runs.skipped
            (['a'], ['b', 'c'])
        """
        self.skipped = self.labels[count:]
        self.labels, self.settings = self.labels[:count], self.settings[:count]

    def final(self, index: int, metric: str | None = None) -> float | None:
        """Run ``index``'s last value of ``metric`` (default: ``rank_by``), None if absent."""
        values = self.runs[index].history.get(metric or self.rank_by) or []
        value = float(values[-1]) if values else None
        return value if value is not None and math.isfinite(value) else None

    def ranked(self) -> list[int]:
        """Run indices, best first by ``rank_by``'s final value; failed runs last.

        Example:
            >>> runs = [Run(spec=None, history={"loss": [v]}) for v in (0.3, 0.1, 0.2)]
            >>> RunSet(runs, ["a", "b", "c"], [{}, {}, {}], "loss").ranked()
            [1, 2, 0]
        """
        sign = -1.0 if higher_is_better(self.rank_by) else 1.0

        def key(index: int) -> tuple[int, float]:
            value = self.final(index)
            if index in self.failed or value is None:
                return (1, float(index))
            return (0, sign * value)

        return sorted(range(len(self.runs)), key=key)

    @property
    def best(self) -> Run:
        """The best run by ``rank_by`` (failed runs never are).

        Raises:
            KregError: no run finished with a finite ``rank_by``.
        """
        for index in self.ranked():
            if index not in self.failed and self.final(index) is not None:
                return self.runs[index]
        raise KregError(
            f"no run of this comparison has a finite {self.rank_by!r}; see .failed for why"
        )

    def rows(self) -> tuple[list[str], list[list[str]]]:
        """The table's header and rows (strings), best first."""
        keys = list(dict.fromkeys(key for run in self.settings for key in run))
        metrics = list(dict.fromkeys(name for run in self.runs for name in run.history))
        header = ["#", *keys]
        for name in metrics:
            header += [f"{name} (final)", f"{name} (best)"]
        header += ["epochs", "wall s", "samples/s", "status"]
        rows = []
        for rank, index in enumerate(self.ranked(), 1):
            run = self.runs[index]
            row = [str(rank), *(self.settings[index].get(key, "") for key in keys)]
            for name in metrics:
                values = [v for v in run.history.get(name, []) if math.isfinite(v)]
                best = (max if higher_is_better(name) else min)(values) if values else None
                row += [_number(self.final(index, name)), _number(best)]
            status = self.failed.get(index) or (f"stopped: {run.stopped}" if run.stopped else "ok")
            if self.kept == index:
                status += " (kept)"
            row += [
                str(run.epochs_completed),
                f"{run.wall_seconds:.2f}",
                f"{run.samples_per_second:,.0f}",
                status,
            ]
            rows.append(row)
        return header, rows

    def table(self) -> RunTable:
        """One row per run, best first: differing settings, each metric's final and best
        value, epochs, wall time, samples/s and status (HTML in a notebook, text here).

        Example:
            >>> run = Run(spec=None, history={"loss": [0.5, 0.25]}, epochs_completed=2)
            >>> print(RunSet([run], ["lr=1"], [{"lr": "1"}], "loss").table())
            # | lr | loss (final) | loss (best) | epochs | wall s | samples/s | status
            1 | 1  | 0.25         | 0.25        | 2      | 0.00   | 0         | ok
            (ranked by loss (final value))
        """
        header, rows = self.rows()
        notes = [f"ranked by {self.rank_by} (final value)"]
        if self.skipped:
            notes.append("not run (interrupted): " + "; ".join(self.skipped))
        return RunTable(header, rows, notes)

    def plot(self) -> Any:
        """Every run in one figure, a colour per run, as a PNG image (``IPython.display``).

        Raises:
            KregError: the comparison ran without a view (``--no-plot``).
        """
        from IPython.display import Image

        if self.view is None or not self.view.figure_png():
            raise KregError("this comparison has no figure (it ran with --no-plot)")
        return Image(data=self.view.figure_png())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return f"RunSet of {len(self.runs)} runs\n{self.table()}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass
class RunTable:
    """A comparison's table: aligned text in a terminal, an HTML table in a notebook.

    Example:
        >>> print(RunTable(["a", "bb"], [["1", "2"]], []))
        a | bb
        1 | 2
    """

    header: list[str]
    rows: list[list[str]]
    notes: list[str]

    def __str__(self) -> str:
        widths = [
            max(len(row[i]) for row in [self.header, *self.rows]) for i in range(len(self.header))
        ]
        lines = [
            " | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in [self.header, *self.rows]
        ]
        return "\n".join(lines + [f"({note})" for note in self.notes])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows
        )
        notes = "".join(f"<p><i>{html.escape(note)}</i></p>" for note in self.notes)
        return f"<table class='kreg-runset'><tr>{head}</tr>{body}</table>{notes}"
