"""One live figure for a whole comparison: a panel per metric, a colour per run.

Each run's view (:meth:`ComparisonView.view_for`) is a Keras callback that records the
run's epoch values into the shared figure. The figure is redrawn at epoch ends, on a
worker thread, at most as often as the drawing budget allows (the same
:class:`Throttle` as one run's view: under ``max_overhead`` of training time), and
updated in place; a progress
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

import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import keras

from kreg.training.view import ViewSettings
from kreg.ui.liveview.recorder import Throttle
from kreg.ui.liveview.renderer import RenderThread
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
        on_line, on_figure: where the progress line and the PNG go instead (a widget).
        min_interval, max_overhead: the drawing throttle.
    """

    def __init__(
        self,
        labels: list[str],
        *,
        plot: bool = True,
        mode: str = "auto",
        stream: TextIO | None = None,
        min_interval: float = 2.0,
        max_overhead: float = 0.01,
        on_line: Callable[[str], None] | None = None,
        on_figure: Callable[[bytes], None] | None = None,
    ) -> None:
        self.labels = list(labels)
        self.plot = plot
        self.on_line, self.on_figure = on_line, on_figure
        self.mode = "widget" if on_line or on_figure else resolve_mode(mode)
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
        self._version = 0  # how many epochs were recorded
        self._rendered = -1  # the version the shown PNG holds
        self._thread = RenderThread(_Drawer(self))
        self.epochs = 1

    def view_for(self, index: int, settings: ViewSettings) -> RunCallback:
        """The Keras callback of run ``index`` (a :class:`~kreg.training.view.TrainingView`)."""
        self.epochs = max(self.epochs, settings.epochs)
        return RunCallback(self, index, settings)

    def panels(self) -> list[str]:
        """One panel per metric any run logged (``val_`` values join their metric's panel)."""
        return _panels(self.history)

    def record(self, index: int, epoch: int, logs: Mapping[str, Any] | None) -> None:
        """Run ``index`` finished epoch ``epoch`` with ``logs``; redraw if the budget allows.

        The drawing runs on a worker thread while training goes on; its PNG is shown at a
        later callback (IPython's display belongs to the training thread).
        """
        run = self.history[index]
        for name, value in (logs or {}).items():
            try:
                run.setdefault(name, []).append(float(value))
            except (TypeError, ValueError):
                continue
        self._version += 1
        self.collect()
        now = time.perf_counter()
        if self.plot and self.mode != "off" and self.throttle.due(now) and not self._thread.busy:
            self._thread.submit(self._snapshot())

    def collect(self) -> None:
        """Show a finished background drawing, if one is waiting (cheap when none is)."""
        if self._thread.ready():
            (png, version), took = self._thread.take()
            self._show(png, version, took)
            self.throttle.done(took, time.perf_counter())

    def progress(self, line: str, *, final: bool = False) -> None:
        """Show the progress line (updated in place in a notebook, printed at run ends here)."""
        self.line = line
        if self.on_line is not None:
            self.on_line(line)
        elif self.mode == "notebook":
            from IPython.display import display

            data = {"text/plain": line}
            if self._line_handle is None:
                self._line_handle = display(data, raw=True, display_id=True)
            else:
                self._line_handle.update(data, raw=True)
        elif self.mode == "text" and final:
            print(line, file=self.stream, flush=True)

    def redraw(self) -> None:
        """Render the figure now, on this thread, and show it (in place of the previous one)."""
        (png, version), took = self._thread.render(self._snapshot())
        self._show(png, version, took)

    def _snapshot(self) -> tuple[list[dict[str, list[float]]], int]:
        return [{k: list(v) for k, v in run.items()} for run in self.history], self._version

    def _show(self, png: bytes, version: int, took: float) -> None:
        started = time.perf_counter()
        self.png, self._rendered = png, version
        self.redraws += 1
        if self.on_figure is not None:
            self.on_figure(png)
        elif self.mode == "notebook" and self.plot:
            from IPython.display import Image, display

            image = Image(data=png, format="png")
            if self._figure_handle is None:
                self._figure_handle = display(image, display_id=True)
            else:
                self._figure_handle.update(image)
        self.draw_seconds += took + time.perf_counter() - started

    def finish(self) -> None:
        """Draw the final figure (it stays in the saved notebook as one PNG).

        A drawing still running is waited for; nothing is drawn again when the last one
        already holds every epoch.
        """
        if self._thread.busy:
            (png, version), took = self._thread.take()
            self._show(png, version, took)
        if (self.plot or self.mode == "off") and self._rendered != self._version:
            self.redraw()
        self._thread.close()
        if self._figure is not None:
            _SPARE.clear()
            _SPARE[self._figure.layout] = self._figure  # the next comparison like this one
            self._figure = None

    def figure_png(self) -> bytes:
        """The comparison's figure as PNG bytes (drawn now if it never was)."""
        if self.png is None:
            self.png = self._render(self._snapshot())[0]
        return self.png

    def _render(self, snapshot: tuple[list[dict[str, list[float]]], int]) -> tuple[bytes, int]:
        """Draw ``snapshot`` (the history and its version); on the worker thread, or at the end."""
        history, version = snapshot
        panels = _panels(history) or ["loss"]
        if self._figure is None or self._figure.panels != panels:
            self._figure = _take_figure(panels, self.labels, max(self.epochs, 1))
        png: bytes = self._figure.render(history)
        return png, version


def _panels(history: list[dict[str, list[float]]]) -> list[str]:
    """The metrics of ``history`` (``val_`` values join their metric), the loss first."""
    names = list(dict.fromkeys(n.removeprefix("val_") for run in history for n in run))
    return sorted(names, key=lambda name: name != "loss")


_SPARE: dict[tuple[Any, ...], _Figure] = {}
"""The last finished comparison's figure, by layout, for the next one to reuse.

A figure is tens of thousands of Python objects: building one per comparison makes
Python run full garbage collections (about 0.16 s each with TensorFlow loaded) while
training runs. A view takes the spare figure (so two views never share one) and gives
it back when it finishes.
"""


def _take_figure(panels: list[str], labels: list[str], epochs: int) -> _Figure:
    """The spare figure of this layout, emptied, or a new one."""
    spare = _SPARE.pop((tuple(panels), tuple(labels), epochs), None)
    if spare is None:
        return _Figure(panels, labels, epochs)
    spare.reset()
    return spare


class _Drawer:
    """What :class:`RenderThread` calls: the view's ``_render``."""

    def __init__(self, view: ComparisonView) -> None:
        self.view = view

    def render(self, snapshot: Any) -> Any:
        return self.view._render(snapshot)


class _Figure:
    """The comparison's figure, built once per set of panels; each render updates its lines.

    As one run's :class:`~kreg.ui.liveview.renderer.Renderer`: fixed margins (no layout pass),
    the x axis fixed to the epochs, y limits rounded to ticks, and axes, ticks and the
    legend drawn into a cached background that is redrawn only when limits change.
    """

    def __init__(self, panels: list[str], labels: list[str], epochs: int) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        self.panels = list(panels)
        width, height = 4.0 * len(panels), 3.1
        self.figure: Any = Figure(figsize=(width, height), dpi=72)
        FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(
            left=0.7 / width,
            right=1 - 0.2 / width,
            bottom=0.45 / height,
            top=1 - 0.35 / height,
            wspace=0.75 / (4.2 - 0.9 / len(panels)),
        )
        self.axes = list(self.figure.subplots(1, len(panels), squeeze=False).flat)
        self.lines: list[list[tuple[Any, Any]]] = []  # panel -> run -> (train, val)
        for name, ax in zip(panels, self.axes):
            ax.set_title(name, fontsize="medium", y=1.0)
            ax.set_xlim(0.5, epochs + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.xaxis.set_label_coords(0.5, -0.1)
            ax.grid(alpha=0.3)
            runs = []
            for index, label in enumerate(labels):
                colour = _COLOURS[index % len(_COLOURS)]
                (train,) = ax.plot([], [], "o-", color=colour, lw=1.6, ms=3, label=label)
                (val,) = ax.plot([], [], "s--", color=colour, lw=1.2, ms=3)
                runs.append((train, val))
            self.lines.append(runs)
        self.axes[0].legend(
            fontsize=7, loc="upper right", title="dashed: validation", title_fontsize=7
        )
        self.layout = (tuple(panels), tuple(labels), epochs)
        self._background: Any = None
        self._key: Any = None
        self._limits: dict[str, tuple[float, float]] = {}

    def reset(self) -> None:
        """Empty every line and forget the limits, for a new comparison of the same layout."""
        for runs in self.lines:
            for pair in runs:
                for line in pair:
                    line.set_data([], [])
        self._limits.clear()
        self._key = None

    def render(self, history: list[dict[str, list[float]]]) -> bytes:
        """Update every line from ``history`` (per run, per metric) and encode a PNG."""
        from kreg.ui.liveview.renderer import _round_limits, png_of

        for name, ax, runs in zip(self.panels, self.axes, self.lines):
            found = []
            for run, (train, val) in zip(history, runs):
                for line, key in ((train, name), (val, f"val_{name}")):
                    values = [
                        v if v == v and abs(v) != float("inf") else float("nan")
                        for v in run.get(key, [])
                    ]
                    line.set_data(range(1, len(values) + 1), values)
                    found += [v for v in values if v == v]
            if found:
                low, high = min(found), max(found)
                pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
                low, high = low - pad, high + pad
                if name in self._limits:  # limits only grow: most redraws reuse the background
                    shown_low, shown_high = self._limits[name]
                    if shown_low <= low and high <= shown_high:
                        continue
                    low, high = min(low, shown_low), max(high, shown_high)
                ax.set_ylim(low, high)
                self._limits[name] = _round_limits(ax)
                ax.set_ylim(*self._limits[name])
        canvas = self.figure.canvas
        moving = [line for runs in self.lines for pair in runs for line in pair]
        limits = tuple(ax.get_ylim() for ax in self.axes)
        if limits != self._key:
            for line in moving:
                line.set_animated(True)
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self._key = limits
        else:
            canvas.restore_region(self._background)
        for line in moving:
            line.axes.draw_artist(line)
        return png_of(canvas)


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
        self.view.collect()
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
