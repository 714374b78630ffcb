"""The live view's figure: a panel per loss/metric, rendered to PNG fast enough to redraw live.

The figure is a :class:`matplotlib.figure.Figure` rendered by the Agg canvas to PNG bytes,
never a pyplot figure, so the inline backend never shows an extra copy. matplotlib and PIL
are imported at the first render, not with this module.

Example:
    >>> from kreg.ui.liveview.recorder import Recorder
    >>> recorder = Recorder(epochs=2)
    >>> recorder.record_epoch(0, {"loss": 1.0, "val_loss": 1.5}, now=1.0)
    >>> renderer = Renderer(title="model")
    >>> renderer.render(recorder.snapshot()).startswith(PNG_MAGIC)
    True
    >>> [ax.get_title() for ax in renderer.figure.axes]
    ['loss']
"""

from __future__ import annotations

import io
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kreg.ui.liveview.recorder import Snapshot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
"""The first bytes of every PNG."""

_ROLES = ("batch", "epoch", "val")
_MARKERS = {"epoch": "o", "val": "s"}
_LEGEND_LABELS = {"batch": "batches", "epoch": "epochs", "val": "validation"}


def _round_limits(ax: Any) -> tuple[float, float]:
    """The axes' y limits widened to the enclosing tick values (stable while data moves inside).

    Example:
        >>> from matplotlib.figure import Figure
        >>> ax = Figure().subplots()
        >>> ax.set_ylim(0.013, 0.987)
        (0.013, 0.987)
        >>> _round_limits(ax)
        (0.0, 1.0)
    """
    low, high = ax.get_ylim()
    ticks = ax.yaxis.get_major_locator().tick_values(low, high)
    below = [t for t in ticks if t <= low]
    above = [t for t in ticks if t >= high]
    low, high = (float(max(below)) if below else low, float(min(above)) if above else high)
    data_low, data_high = ax.dataLim.y0, ax.dataLim.y1
    if 0 <= data_low < data_high and (low < 0 or data_low <= 0.25 * data_high):
        low = 0.0  # a loss falling from its first value: keep the axis from 0, and stable
    return low, high


def png_of(canvas: Any) -> bytes:
    """An Agg canvas's pixels as PNG bytes, with fast zlib (most of the PNG time otherwise).

    Example:
        >>> from matplotlib.backends.backend_agg import FigureCanvasAgg
        >>> from matplotlib.figure import Figure
        >>> canvas = FigureCanvasAgg(Figure(figsize=(1, 1)))
        >>> canvas.draw()
        >>> png_of(canvas).startswith(PNG_MAGIC)
        True
    """
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class Renderer:
    """Draws :class:`~kreg.ui.liveview.recorder.Snapshot` s into one figure, as PNG bytes.

    The figure is made at the first render and remade only when the panels change; each
    render updates its lines' data. Not thread-safe: one render at a time.

    Attributes:
        figure: the :class:`matplotlib.figure.Figure`, or None before the first render.

    Example:
        >>> Renderer().figure is None
        True
    """

    def __init__(self, title: str | None = None) -> None:
        self.title = title
        self.figure: Any = None
        self._panels: list[str] | None = None
        self._axes: dict[str, Any] = {}
        self._lines: dict[str, dict[str, Any]] = {}  # panel -> role -> Line2D
        self._legend: tuple[str, ...] = ()  # the roles the figure's legend shows
        self._background: Any = None  # the figure without lines and legend, as drawn last
        self._background_key: Any = None  # the limits and legend that background was drawn with

    def render(self, snapshot: Snapshot) -> bytes:
        """Update the figure's lines from ``snapshot`` and render it to PNG bytes."""
        panels = list(snapshot.series)
        if self.figure is None or self._panels != panels:
            self._build(panels)
        for panel in panels:
            ax, lines = self._axes[panel], self._lines[panel]
            right = snapshot.last
            for role in _ROLES:
                xs, ys = snapshot.series[panel][role]
                lines[role].set_data(xs, ys)
                if role in _MARKERS:  # markers only while they stay apart
                    lines[role].set_marker(_MARKERS[role] if len(xs) <= 40 else "")
                if xs:
                    right = max(right, max(xs))
            if panel == panels[0]:
                self._update_legend(ax, lines)
            ax.set_xlim(snapshot.first, right)
            ax.relim()
            ax.autoscale_view(scalex=False)
            ax.set_ylim(*_round_limits(ax), auto=None)
        return self._draw_png(panels)

    def _update_legend(self, ax: Any, lines: dict[str, Any]) -> None:
        """Give ``ax`` the figure's one legend, remade only when the roles it shows change.

        One legend for the figure (text is most of the drawing time): every panel uses the
        same colours for batch, epoch and validation values. Batches and epochs are always in
        it (epoch points come at the first epoch end): a legend that changes forces a full
        redraw of the cached background.
        """
        shown = ("batch", "epoch") + (("val",) if len(lines["val"].get_xdata()) else ())
        if shown == self._legend:
            return
        self._legend = shown
        ax.legend(
            handles=[lines[role] for role in shown],
            labels=[_LEGEND_LABELS[role] for role in shown],
            loc="best",
            fontsize="small",
        )

    def _draw_png(self, panels: list[str]) -> bytes:
        """Draw the figure and encode it as PNG, redrawing axes and text only when they change.

        Axes, ticks, labels and titles (most of the drawing time) are drawn once into a
        cached background and redrawn only when a panel's limits or the legend change (the y
        limits are rounded to tick values, so that is rare); each render restores that
        background and draws the lines and the legend over it.
        """

        canvas = self.figure.canvas
        legend = self._axes[panels[0]].get_legend() if panels else None
        moving = [self._lines[panel][role] for panel in panels for role in _ROLES]
        moving += [legend] if legend is not None else []
        key = (
            tuple(self._panels or ()),
            tuple(self.figure.get_size_inches()),
            tuple((self._axes[p].get_xlim(), self._axes[p].get_ylim()) for p in panels),
            self._legend,
        )
        if key != self._background_key:
            for artist in moving:
                artist.set_animated(True)
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
            self._background_key = key
        else:
            canvas.restore_region(self._background)
        for artist in moving:
            artist.axes.draw_artist(artist)
        return png_of(canvas)

    def _build(self, panels: list[str]) -> None:
        """(Re)make the figure's axes: one panel per metric, up to three a row."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        count = max(len(panels), 1)
        cols = min(count, 3)
        rows = math.ceil(count / cols)
        width, height = 4.2 * cols, 2.9 * rows + (0.3 if self.title else 0.0)
        if self.figure is None:
            self.figure = Figure(figsize=(width, height), dpi=80)
            FigureCanvasAgg(self.figure)
        else:
            self.figure.clear()
            self.figure.set_size_inches(width, height)
        fig = self.figure
        top = 0.35 + (0.3 if self.title else 0.0)
        fig.subplots_adjust(
            left=0.75 / width,
            right=1 - 0.2 / width,
            bottom=0.5 / height,
            top=1 - top / height,
            wspace=0.75 / (4.2 - 0.95 / cols),
            hspace=0.75 / (2.9 - 0.85 / rows),
        )
        if self.title:
            fig.suptitle(self.title, fontsize="medium")
        self._axes, self._lines, self._legend = {}, {}, ()
        for index, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
            if index >= len(panels):
                ax.set_visible(len(panels) > 0)
                if not panels:
                    ax.text(0.5, 0.5, "no data yet", ha="center", va="center")
                    ax.set_axis_off()
                continue
            panel = panels[index]
            # Fixed title and label positions: matplotlib's automatic ones measure every tick
            # label at each full draw (a third of its time).
            ax.set_title(panel, fontsize="medium", y=1.0)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if index >= len(panels) - cols:
                ax.set_xlabel("epoch")
                ax.xaxis.set_label_coords(0.5, -0.15)
            (batch,) = ax.plot([], [], color="C0", lw=0.8, alpha=0.55, label=f"{panel} (batch)")
            (epoch,) = ax.plot([], [], "o-", color="C0", lw=1.8, ms=4, label=panel)
            (val,) = ax.plot([], [], "s-", color="C1", lw=1.8, ms=4, label=f"val_{panel}")
            self._axes[panel] = ax
            self._lines[panel] = {"batch": batch, "epoch": epoch, "val": val}
        self._panels = list(panels)
        self._background_key = None


class RenderThread:
    """Renders on one worker thread: TensorFlow releases the GIL while it runs a step, so the
    drawing overlaps training instead of pausing it. The PNG is taken back on the training
    thread at a later callback (IPython's display belongs to that thread).

    Example:
        >>> from kreg.ui.liveview.recorder import Recorder
        >>> recorder = Recorder(epochs=2)
        >>> recorder.record_epoch(0, {"loss": 1.0}, now=1.0)
        >>> thread = RenderThread(Renderer())
        >>> thread.submit(recorder.snapshot())
        >>> thread.busy
        True
        >>> png, seconds = thread.take()
        >>> png.startswith(PNG_MAGIC), thread.busy, thread.ready()
        (True, False, False)
        >>> thread.close()
    """

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer  # anything with render(snapshot), a Renderer above all
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[tuple[Any, float]] | None = None

    @property
    def busy(self) -> bool:
        """Whether a render was submitted and not yet taken."""
        return self._pending is not None

    def submit(self, snapshot: Any) -> None:
        """Start rendering ``snapshot`` on the worker thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kreg-view")
        self._pending = self._executor.submit(self.render, snapshot)

    def ready(self) -> bool:
        """Whether the submitted render is finished (and not yet taken)."""
        return self._pending is not None and self._pending.done()

    def take(self) -> tuple[Any, float]:
        """The submitted render's PNG and seconds, waiting for it if need be.

        Raises what the render raised, or ``RuntimeError`` when none was submitted.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("no render was submitted")
        return pending.result()

    def close(self) -> None:
        """Drop the submitted render, if any, and end the worker thread (waiting for it)."""
        self._pending = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def render(self, snapshot: Any) -> tuple[Any, float]:
        """Render ``snapshot`` on the calling thread: the PNG and the seconds it took."""
        started = time.perf_counter()
        return self.renderer.render(snapshot), time.perf_counter() - started
