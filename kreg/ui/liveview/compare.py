"""One live figure for a whole comparison: a panel per metric, a colour per run.

Each run's view (:meth:`ComparisonView.view_for`) is a Keras callback that records the
run's epoch values into the shared figure. The figure is redrawn at epoch ends, at
most as often as the drawing budget allows (the same :class:`Throttle` as one run's
view: under ``max_overhead`` of training time), and updated in place; a progress
line ``run 2/4 · epoch 3/10 · loss 0.41`` follows every step. At the end, one static
PNG stays in the saved notebook. The legend shows only the differing settings.

Example:
    >>> view = ComparisonView(["optimizer=adam", "optimizer=sgd"], mode="off")
    >>> view.record(0, 0, {"loss": 1.0, "val_loss": 1.2})
    >>> view.record(1, 0, {"loss": 0.8})
    >>> view.finish()
    >>> view.png.startswith(b"\\x89PNG"), view.panels()
    (True, ['loss'])
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from typing import Any, TextIO

import keras

from kreg.training.view import ViewSettings
from kreg.ui.liveview.recorder import Throttle
from kreg.ui.liveview.sinks import resolve_mode

_COLOURS: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
_COLOURS += ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


class ComparisonView:
    """The live figure and progress line of a comparison (see the module's docstring).

    Args:
        labels: each run's differing settings, in run order.
        plot: draw the figure (``--no-plot``: the progress line only).
        mode: ``"auto"`` (``"notebook"`` in a Jupyter kernel, else ``"text"``),
            ``"notebook"``, ``"text"`` or ``"off"`` (records only).
        min_interval, max_overhead: the drawing throttle.
    """

    def __init__(
        self,
        labels: list[str],
        *,
        plot: bool = True,
        mode: str = "auto",
        stream: TextIO | None = None,
        min_interval: float = 0.5,
        max_overhead: float = 0.03,
    ) -> None:
        self.labels = list(labels)
        self.plot = plot
        self.mode = resolve_mode(mode)
        self.stream = stream
        self.history: list[dict[str, list[float]]] = [{} for _ in labels]
        self.throttle = Throttle(min_interval, max_overhead)
        self.throttle.start(time.perf_counter())
        self.png: bytes | None = None
        self.redraws = 0
        self.draw_seconds = 0.0
        self.line = ""
        self._line_handle: Any = None
        self._figure_handle: Any = None
        self._figure: Any = None

    def view_for(self, index: int, settings: ViewSettings) -> RunCallback:
        """The Keras callback of run ``index`` (a :class:`~kreg.training.view.TrainingView`)."""
        return RunCallback(self, index, settings)

    def panels(self) -> list[str]:
        """One panel per metric any run logged (``val_`` values join their metric's panel)."""
        names = list(dict.fromkeys(n.removeprefix("val_") for run in self.history for n in run))
        return sorted(names, key=lambda name: name != "loss")  # the loss first

    def record(self, index: int, epoch: int, logs: Mapping[str, Any] | None) -> None:
        """Run ``index`` finished epoch ``epoch`` with ``logs``; redraw if the budget allows."""
        run = self.history[index]
        for name, value in (logs or {}).items():
            try:
                run.setdefault(name, []).append(float(value))
            except (TypeError, ValueError):
                continue
        now = time.perf_counter()
        if self.plot and self.mode != "off" and self.throttle.due(now):
            self.redraw()
            self.throttle.done(self.draw_seconds_last, time.perf_counter())

    def progress(self, line: str, *, final: bool = False) -> None:
        """Show the progress line (updated in place in a notebook, printed at run ends here)."""
        self.line = line
        if self.mode == "notebook":
            from IPython.display import display

            data = {"text/plain": line}
            if self._line_handle is None:
                self._line_handle = display(data, raw=True, display_id=True)
            else:
                self._line_handle.update(data, raw=True)
        elif self.mode == "text" and final:
            print(line, file=self.stream, flush=True)

    def redraw(self) -> None:
        """Render the figure to PNG and show it (in place of the previous one)."""
        started = time.perf_counter()
        self.png = self._render()
        self.redraws += 1
        if self.mode == "notebook" and self.plot:
            from IPython.display import Image, display

            image = Image(data=self.png, format="png")
            if self._figure_handle is None:
                self._figure_handle = display(image, display_id=True)
            else:
                self._figure_handle.update(image)
        self.draw_seconds_last = time.perf_counter() - started
        self.draw_seconds += self.draw_seconds_last

    draw_seconds_last = 0.0

    def finish(self) -> None:
        """Draw the final figure (it stays in the saved notebook as one PNG)."""
        if self.plot or self.mode == "off":
            self.redraw()

    def figure_png(self) -> bytes:
        """The comparison's figure as PNG bytes (drawn now if it never was)."""
        if self.png is None:
            self.png = self._render()
        return self.png

    def _render(self) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        panels = self.panels() or ["loss"]
        figure = Figure(figsize=(4.2 * len(panels), 3.2), dpi=80)
        FigureCanvasAgg(figure)
        for place, name in enumerate(panels, 1):
            ax = figure.add_subplot(1, len(panels), place)
            ax.set_title(name)
            ax.set_xlabel("epoch")
            for index, run in enumerate(self.history):
                colour = _COLOURS[index % len(_COLOURS)]
                label = self.labels[index]
                for key, style in ((name, "-"), (f"val_{name}", "--")):
                    values = run.get(key)
                    if values:
                        epochs = range(1, len(values) + 1)
                        shown = label if key == name else None
                        ax.plot(epochs, values, style, color=colour, marker="o", label=shown)
            ax.grid(alpha=0.3)
        if figure.axes:
            figure.axes[0].legend(fontsize=7, loc="best")
            if any(key.startswith("val_") for run in self.history for key in run):
                figure.axes[-1].annotate(
                    "dashed: validation", (1, 1.08), xycoords="axes fraction", ha="right"
                )
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        self._figure = figure
        return buffer.getvalue()


class RunCallback(keras.callbacks.Callback):
    """One run's part of a :class:`ComparisonView`: records epochs, updates the line."""

    def __init__(self, view: ComparisonView, index: int, settings: ViewSettings) -> None:
        super().__init__()
        self.view, self.index, self.settings = view, index, settings
        self.epoch = 0
        self.last_line_at = 0.0

    def _prefix(self) -> str:
        total = len(self.view.labels)
        return (
            f"run {self.index + 1}/{total} · epoch {self.epoch + 1}/{self.settings.epochs} · "
            f"{self.view.labels[self.index]}"
        )

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        now = time.perf_counter()
        if now - self.last_line_at < 0.25:
            return
        self.last_line_at = now
        loss = (logs or {}).get("loss")
        text = f" · loss {float(loss):.4g}" if loss is not None else ""
        self.view.progress(self._prefix() + text)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.view.record(self.index, epoch, logs)
        values = " · ".join(f"{k} {float(v):.4g}" for k, v in (logs or {}).items())
        self.view.progress(f"{self._prefix()} · {values}")

    def stopped(self, reason: str, at: tuple[int, int] | None = None) -> None:
        """The run ended early: say so on the line."""
        self.view.progress(f"{self._prefix()} · stopped: {reason}", final=True)

    def finish(self) -> None:
        """The run ended: print its last line (in a terminal)."""
        if self.view.mode == "text":
            self.view.progress(self.view.line, final=True)

    def figure_png(self) -> bytes:
        """The whole comparison's figure."""
        return self.view.figure_png()
