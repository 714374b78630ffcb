"""The live training view: one figure and one progress line, updated in place while Keras trains.

:class:`LiveView` is a Keras callback. In a Jupyter kernel it shows one matplotlib figure (a
panel per loss/metric, ``val_X`` drawn in the ``X`` panel) and one progress line, each created
once and then updated in place through an IPython ``display_id``: no ``clear_output``, no new
figure per epoch. In a plain terminal it prints a throttled one-line progress and, at the end,
a text summary. Redraws are throttled by time and by their own cost, so that drawing stays a
small fraction of the wall time. No exception ever escapes into training: the first one is kept
in :attr:`LiveView.error` and the live output stops (recording goes on).

The figure is a :class:`matplotlib.figure.Figure` rendered by the Agg canvas to PNG bytes,
never a pyplot figure, so the inline backend never shows an extra copy.

Example (``mode="off"`` records only; ``"text"`` prints; ``"notebook"`` displays):

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
>>> model.compile(loss="mse", optimizer="sgd")
>>> view = LiveView(epochs=2, batch_size=16, mode="off")
>>> _ = model.fit(np.zeros((32, 3)), np.zeros((32, 1)), batch_size=16, epochs=2,
...               verbose=0, callbacks=[view])
>>> view.history["loss"], view.panels, view.last_epoch, view.last_step
([0.0, 0.0], ['loss'], 1, 2)
"""

from __future__ import annotations

import functools
import io
import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO, TypeVar

import keras

MODES = ("auto", "notebook", "text", "off")
MAX_POINTS = 500
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLACEHOLDER = "(live plot: waiting for the first batch)"

_Method = TypeVar("_Method", bound=Callable[..., Any])


def running_in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (an ``ipykernel`` shell), not a terminal.

    True when IPython's current shell is a ``ZMQInteractiveShell`` (or a subclass, as in
    Colab) or was started by an ``IPKernelApp``. A terminal IPython, a plain
    ``InteractiveShell`` and a script without IPython are not kernels.

    Example:
        >>> running_in_kernel()
        False
    """
    if "IPython" not in sys.modules:  # no IPython imported: certainly no kernel
        return False
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return False
    if any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
        return True
    try:
        return "IPKernelApp" in shell.config
    except Exception:
        return False


def _guarded(method: _Method) -> _Method:
    """Run a callback method so that no ``Exception`` can escape into training."""

    @functools.wraps(method)
    def wrapper(self: LiveView, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._fail(exc)
            return None

    return wrapper  # type: ignore[return-value]


def _scalar(value: object) -> float | None:
    """``value`` as a float, or None when it is not a scalar (a string, a list, an array...).

    A value that claims to be a number (it has ``__float__``) but fails to convert raises:
    that is an error, not a non-scalar.
    """
    if isinstance(value, (int, float)):
        return float(value)
    if value is None or isinstance(value, (str, bytes, bytearray, Mapping)):
        return None
    shape = getattr(value, "shape", None)
    if shape is not None:
        try:
            if math.prod(int(d) for d in shape) != 1:
                return None
        except (TypeError, ValueError):
            return None
    if not hasattr(type(value), "__float__"):
        return None
    return float(value)  # type: ignore[arg-type]


def _seconds(seconds: float) -> str:
    """``12.3 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _number(value: float) -> str:
    """Four significant digits."""
    return f"{value:.4g}"


class _Throttle:
    """Decides when an output may be refreshed: at most every ``min_interval`` seconds, and
    after one that took ``d`` seconds not before ``d / max_overhead`` seconds have passed."""

    def __init__(self, min_interval: float, max_overhead: float) -> None:
        self.min_interval, self.max_overhead = min_interval, max_overhead
        self.next_at = 0.0

    def start(self, now: float) -> None:
        self.next_at = now + self.min_interval

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def done(self, took: float, now: float) -> None:
        self.next_at = now + max(self.min_interval, took / self.max_overhead)


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


class _Downsampled:
    """Bucket means of per-batch points ``(epoch, step, value)``, at most ``limit`` buckets.

    Buckets hold sums, so a point's fractional epoch ``epoch + step / steps_per_epoch`` can be
    computed at draw time, when the number of steps per epoch may have become known.
    """

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit, self.size = limit, 1
        self.buckets: list[list[float]] = []  # [sum epoch, sum step, sum value, count]

    def add(self, epoch: int, step: int, value: float) -> None:
        if self.buckets and self.buckets[-1][3] < self.size:
            bucket = self.buckets[-1]
            bucket[0] += epoch
            bucket[1] += step
            bucket[2] += value
            bucket[3] += 1
            return
        self.buckets.append([float(epoch), float(step), value, 1.0])
        if len(self.buckets) > self.limit:
            pairs = zip(self.buckets[::2], [*self.buckets[1::2], None])
            self.buckets = [a if b is None else [x + y for x, y in zip(a, b)] for a, b in pairs]
            self.size *= 2

    def xy(self, steps: float) -> tuple[list[float], list[float]]:
        xs = [(e + s / steps) / n for e, s, _, n in self.buckets]
        return xs, [v / n for _, _, v, n in self.buckets]


class LiveView(keras.callbacks.Callback):
    """A Keras callback that shows training live: a figure and a progress line, or text.

    Args:
        epochs: the ``epochs`` given to ``fit`` (Keras's ``params["epochs"]`` wins if it differs).
        steps_per_epoch: steps per epoch, or None when unknown (Keras's ``params["steps"]`` is
            used when it knows; otherwise it is learnt at the end of the first epoch, and there
            is no ETA within the first epoch).
        batch_size: samples per step, for samples/s (steps/s are shown when None).
        plot: draw the figure; False shows only the progress line.
        mode: ``"auto"`` (``"notebook"`` in a Jupyter kernel, else ``"text"``), ``"notebook"``
            (display outputs; falls back to ``"text"`` when no IPython shell exists),
            ``"text"`` (print to ``stream``) or ``"off"`` (record only, show nothing).
        title: the figure's title.
        stream: where text mode prints (default ``sys.stdout`` at the time of printing).
        min_interval: the least number of seconds between two refreshes of an output.
        max_overhead: the largest fraction of wall time an output may take: after a refresh
            that took ``d`` seconds the next waits ``max(min_interval, d / max_overhead)``.

    Attributes:
        history: epoch-level values per log key, like ``keras.callbacks.History.history``.
        draw_seconds: total seconds spent rendering, displaying and printing.
        redraws: how many times the figure was rendered and displayed.
        last_epoch: Keras's 0-based index of the current (or last) epoch.
        last_step: steps completed in that epoch.
        png: the last rendered PNG, or None.
        figure: the :class:`matplotlib.figure.Figure`, or None before the first render.
        error: the first exception the view caught, or None.
        stop_reason: the reason given to :meth:`stopped`, or None.
        mode: the resolved mode: ``"notebook"``, ``"text"`` or ``"off"``.

    Example:
        >>> view = LiveView(epochs=1, steps_per_epoch=2, mode="off")
        >>> view.on_train_begin()
        >>> view.on_epoch_begin(0)
        >>> view.on_train_batch_end(0, {"loss": 2.0, "mae": 1.0})
        >>> view.on_train_batch_end(1, {"loss": 1.0, "mae": 0.5})
        >>> view.on_epoch_end(0, {"loss": 1.5, "mae": 0.75, "val_loss": 1.25})
        >>> view.on_train_end()
        >>> view.history
        {'loss': [1.5], 'mae': [0.75], 'val_loss': [1.25]}
        >>> view.batches["loss"]
        [(0.5, 2.0), (1.0, 1.0)]
        >>> view.panels
        ['loss', 'mae']
    """

    def __init__(
        self,
        *,
        epochs: int,
        steps_per_epoch: int | None = None,
        batch_size: int | None = None,
        plot: bool = True,
        mode: str = "auto",
        title: str | None = None,
        stream: TextIO | None = None,
        min_interval: float = 0.25,
        max_overhead: float = 0.02,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be in (0, 1], not {max_overhead!r}")
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, not {min_interval!r}")
        self.epochs = int(epochs)
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.plot = bool(plot)
        self.requested_mode = mode
        self.mode = self._resolve(mode)
        self.title = title
        self.stream = stream
        self.min_interval = float(min_interval)
        self.max_overhead = float(max_overhead)
        self.figure: Any = None
        self.png: bytes | None = None
        self._reset()

    # -- state ---------------------------------------------------------------------------

    @staticmethod
    def _resolve(mode: str) -> str:
        if mode == "auto":
            return "notebook" if running_in_kernel() else "text"
        if mode == "notebook":
            from IPython.core.interactiveshell import InteractiveShell

            return "notebook" if InteractiveShell.initialized() else "text"
        return mode

    def _reset(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.draw_seconds = 0.0
        self.redraws = 0
        self.last_epoch = 0
        self.last_step = 0
        self.error: BaseException | None = None
        self.stop_reason: str | None = None
        self.finished = False
        self._raw: dict[str, list[tuple[int, int, float]]] = {}
        self._drawn: dict[str, _Downsampled] = {}
        self._epoch_points: dict[str, list[tuple[float, float]]] = {}
        self._panel_order: list[str] = []
        self._broken = False
        self._t0: float | None = None
        self._t_end: float | None = None
        self._epoch_t0 = 0.0
        self._first_batch: tuple[float, int] | None = None  # (time, step) of an epoch's first
        self._first_epoch: int | None = None
        self._epochs_done = 0
        self._durations: list[float] = []
        self._total_steps = 0
        self._steps_known = self.steps_per_epoch
        self._steps_seen: int | None = None
        self._latest: dict[str, float] = {}
        self._plot_throttle = _Throttle(self.min_interval, self.max_overhead)
        self._line_throttle = _Throttle(self.min_interval, self.max_overhead)
        self._figure_handle: Any = None
        self._line_handle: Any = None
        self._figure_panels: list[str] | None = None
        self._artists: dict[str, dict[str, Any]] = {}
        self._background: Any = None  # the figure without lines and legend, as drawn last
        self._background_key: Any = None  # the limits and legend that background was drawn with
        self._tty_line = False
        self.render_seconds = 0.0  # matplotlib time, mostly off the training thread
        self._pending: Any = None  # a Future: the PNG being rendered in the background
        self._executor: Any = None

    def _fail(self, exc: BaseException) -> None:
        """Remember the first error and stop all live output (recording goes on)."""
        if self.error is None:
            self.error = exc
        self._broken = True

    @property
    def batches(self) -> dict[str, list[tuple[float, float]]]:
        """Every per-batch point, ``(fractional epoch, value)`` per log key, NaN included.

        Example:
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.batches
            {}
        """
        steps = self._steps()
        return {
            key: [(e + (s / steps if steps else 0.0), v) for e, s, v in points]
            for key, points in self._raw.items()
        }

    @property
    def panels(self) -> list[str]:
        """The panel names: ``loss`` first, then each other metric in the order first logged.

        ``val_X`` is drawn in the ``X`` panel, so it never has a panel of its own.

        Example:
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.on_epoch_end(0, {"accuracy": 0.5, "loss": 1.0, "val_loss": 2.0})
            >>> view.panels
            ['loss', 'accuracy']
        """
        return sorted(self._panel_order, key=lambda name: name != "loss")

    @property
    def wall_seconds(self) -> float:
        """Seconds since training began (frozen by :meth:`finish`); 0.0 before.

        Example:
            >>> LiveView(epochs=1, mode="off").wall_seconds
            0.0
        """
        if self._t0 is None:
            return 0.0
        end = self._t_end if self._t_end is not None else time.perf_counter()
        return end - self._t0

    @property
    def samples_per_second(self) -> float | None:
        """``batch_size × steps / wall_seconds`` (every step counted as a full batch); None
        without a batch size or before any step.

        Example:
            >>> LiveView(epochs=1, batch_size=32, mode="off").samples_per_second is None
            True
        """
        wall = self.wall_seconds
        if not self.batch_size or not self._total_steps or wall <= 0:
            return None
        return self.batch_size * self._total_steps / wall

    def _steps(self) -> int | None:
        """Steps per epoch: given, learnt from the first epoch, or the most seen so far."""
        if self._steps_known:
            return self._steps_known
        if self._steps_seen:
            return self._steps_seen
        return self.last_step or None

    def _record(self, logs: Mapping[str, Any] | None) -> dict[str, float]:
        values: dict[str, float] = {}
        for key, raw in (logs or {}).items():
            try:
                value = _scalar(raw)
            except Exception as exc:
                self._fail(exc)
                continue
            if value is None:
                continue
            values[key] = value
            panel = key[4:] if key.startswith("val_") and len(key) > 4 else key
            if panel not in self._panel_order:
                self._panel_order.append(panel)
        return values

    # -- Keras hooks -----------------------------------------------------------------------

    @_guarded
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Start the clock and open the outputs (the progress line, the figure's place).

        Example:
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.on_train_begin()
            >>> view.wall_seconds >= 0
            True
        """
        self._reset()
        params = self.params or {}
        if params.get("epochs") is not None:
            self.epochs = int(params["epochs"])
        if params.get("steps"):
            self._steps_known = int(params["steps"])
        now = time.perf_counter()
        self._t0 = self._epoch_t0 = now
        self._plot_throttle.start(now)
        self._line_throttle.start(now)
        if self.mode == "notebook":
            self._open_notebook()

    @_guarded
    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Note the epoch's index and start time.

        Example:
            >>> view = LiveView(epochs=3, mode="off")
            >>> view.on_epoch_begin(2)
            >>> view.last_epoch, view.last_step
            (2, 0)
        """
        if self._first_epoch is None:
            self._first_epoch = epoch
        self.last_epoch, self.last_step = epoch, 0
        self._epoch_t0 = time.perf_counter()
        self._first_batch = None

    @_guarded
    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Record the batch's values, then refresh the outputs if the throttle allows.

        ``batch`` is the index of the last step run (with ``steps_per_execution=N`` Keras
        calls this once per N steps), so ``batch + 1`` steps of the epoch are done.

        Example:
            >>> view = LiveView(epochs=1, steps_per_epoch=4, mode="off")
            >>> view.on_epoch_begin(0)
            >>> view.on_train_batch_end(1, {"loss": 0.5})
            >>> view.last_step, view.batches
            (2, {'loss': [(0.5, 0.5)]})
        """
        step = int(batch) + 1
        now = time.perf_counter()
        self._total_steps += max(step - self.last_step, 0)
        self.last_step = step
        if self._first_batch is None:
            self._first_batch = (now, step)
        values = self._record(logs)
        self._latest = values
        epoch = self.last_epoch
        for key, value in values.items():
            self._raw.setdefault(key, []).append((epoch, step, value))
            if math.isfinite(value):
                self._drawn.setdefault(key, _Downsampled()).add(epoch, step, value)
        self._refresh(now)

    @_guarded
    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Record the epoch's values (training and validation), then refresh if allowed.

        Example:
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.on_epoch_end(0, {"loss": 0.25, "name": "not a number"})
            >>> view.history
            {'loss': [0.25]}
        """
        now = time.perf_counter()
        values = self._record(logs)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
            self._epoch_points.setdefault(key, []).append((epoch + 1.0, value))
        if self._steps_seen is None and self.last_step:
            self._steps_seen = self.last_step
        self._epochs_done += 1
        self._durations.append(now - self._epoch_t0)
        self._latest = {**self._latest, **values}
        self._refresh(now)

    @_guarded
    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        """Finish: see :meth:`finish`.

        Example:
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.on_train_end()
            >>> view.finished
            True
        """
        self.finish()

    # -- what the runner calls -----------------------------------------------------------

    @_guarded
    def stopped(self, reason: str) -> None:
        """Say that training was stopped (interrupted, NaN...): the final line will say so.

        Called after :meth:`finish` (Keras ran ``on_train_end`` before the runner knew),
        it shows the final line again, now saying why training stopped.

        Example:
            >>> out = io.StringIO()
            >>> view = LiveView(epochs=2, steps_per_epoch=4, mode="text", stream=out)
            >>> view.on_train_begin()
            >>> view.on_epoch_begin(0)
            >>> view.on_train_batch_end(1, {"loss": 0.5})
            >>> view.stopped("interrupted")
            >>> view.finish()
            >>> print(out.getvalue().strip())
            stopped at epoch 1 step 2/4: interrupted (..., loss 0.5)
              loss  0.5 (last batch)
        """
        self.stop_reason = str(reason)
        if self.finished:
            self._final_output(redraw=False)

    @_guarded
    def finish(self) -> None:
        """End the run's output: a last redraw (a static PNG stays in the saved notebook) and
        the final line. Idempotent; ``on_train_end`` calls it, and the runner calls it when
        an exception inside ``fit`` skipped ``on_train_end``.

        Example:
            >>> out = io.StringIO()
            >>> view = LiveView(epochs=1, mode="text", stream=out)
            >>> view.on_train_begin()
            >>> view.on_epoch_end(0, {"loss": 0.125})
            >>> view.finish(); view.finish()
            >>> print(out.getvalue().strip())
            done: 1 epoch, ... s, loss 0.125
              loss  0.125
        """
        if self.finished:
            return
        self.finished = True
        if self._t0 is not None:
            self._t_end = time.perf_counter()
        try:
            self._final_output(redraw=True)
        finally:
            self._stop_background()

    def figure_png(self) -> bytes:
        """Render the current state to PNG bytes now, in any mode (also sets :attr:`png`).

        Example:
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
            >>> view.figure_png().startswith(PNG_MAGIC)
            True
        """
        self._stop_background()
        self.png = self._render()
        return self.png

    # -- output ----------------------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        if self.mode == "off" or self._broken:
            return
        if self.mode == "notebook" and self.plot:
            self._publish_finished_render()
            if self._pending is None and self._plot_throttle.due(now) and self._plottable():
                self._render_in_background()
        if self._line_throttle.due(time.perf_counter()):
            started = time.perf_counter()
            self._show_line(self._progress_text(started), final=False)
            ended = time.perf_counter()
            self.draw_seconds += ended - started
            self._line_throttle.done(ended - started, ended)

    def _final_output(self, *, redraw: bool) -> None:
        if self.mode == "off":
            return
        if redraw and not self._broken and self.mode == "notebook" and self.plot:
            self._redraw()
        started = time.perf_counter()
        line = self._final_text()
        if self.error is not None:
            line += (
                f" (live view stopped after an error: {type(self.error).__name__}: {self.error})"
            )
        try:
            self._show_line(line, final=True)
        except Exception as exc:
            self._fail(exc)
        self.draw_seconds += time.perf_counter() - started

    def _plottable(self) -> bool:
        """Whether a mid-run figure would show a line: some series has two points.

        A figure of one point has degenerate y limits, and its cached background would
        have to be redrawn at the next render; the placeholder stays until then.
        """
        return any(len(sampler.buckets) >= 2 for sampler in self._drawn.values()) or any(
            len(points) >= 2 for points in self._epoch_points.values()
        )

    def _render_in_background(self) -> None:
        """Draw on a worker thread: TensorFlow releases the GIL while it runs a step, so the
        drawing overlaps training instead of pausing it. The PNG is published from the
        training thread at the next callback (IPython's display belongs to that thread)."""
        from concurrent.futures import ThreadPoolExecutor

        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kreg-view")
        started = time.perf_counter()
        snapshot = self._snapshot()

        def draw() -> tuple[bytes, float]:
            begun = time.perf_counter()
            return self._render(snapshot), time.perf_counter() - begun

        self._pending = self._executor.submit(draw)
        self.draw_seconds += time.perf_counter() - started

    def _publish_finished_render(self, wait: bool = False) -> None:
        pending = self._pending
        if pending is None or not (wait or pending.done()):
            return
        self._pending = None
        started = time.perf_counter()
        try:
            png, took = pending.result()
            self._show_figure(png)
        except Exception as exc:
            self._fail(exc)
            return
        self.png = png
        self.render_seconds += took
        self.redraws += 1
        ended = time.perf_counter()
        self.draw_seconds += ended - started
        self._plot_throttle.done(took, ended)

    def _stop_background(self) -> None:
        if self._pending is not None and not self._broken:
            self._publish_finished_render(wait=True)
        self._pending = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _redraw(self) -> None:
        self._stop_background()
        started = time.perf_counter()
        try:
            png = self._render()
            self._show_figure(png)
        except Exception as exc:
            self._fail(exc)
            return
        self.png = png
        ended = time.perf_counter()
        self.draw_seconds += ended - started
        self.render_seconds += ended - started
        self.redraws += 1
        self._plot_throttle.done(ended - started, ended)

    def _open_notebook(self) -> None:
        from IPython.display import display

        self._line_handle = display(
            {"text/plain": self._progress_text(time.perf_counter())}, raw=True, display_id=True
        )
        if self.plot:
            self._figure_handle = display({"text/plain": PLACEHOLDER}, raw=True, display_id=True)

    def _show_figure(self, png: bytes) -> None:
        from IPython.display import Image, display

        image = Image(data=png, format="png")
        if self._figure_handle is None:
            self._figure_handle = display(image, display_id=True)
        else:
            self._figure_handle.update(image)

    def _show_line(self, line: str, *, final: bool) -> None:
        if self.mode == "notebook":
            from IPython.display import display

            data = {"text/plain": line}
            if self._line_handle is None:
                self._line_handle = display(data, raw=True, display_id=True)
            else:
                self._line_handle.update(data, raw=True)
            return
        stream = self.stream if self.stream is not None else sys.stdout
        isatty = getattr(stream, "isatty", None)
        if isatty is not None and isatty():
            stream.write(f"\r\x1b[2K{line}" + ("\n" if final else ""))
        else:
            stream.write(line + "\n")
        stream.flush()

    # -- text ------------------------------------------------------------------------------

    def _rate(self) -> str | None:
        samples = self.samples_per_second
        if samples is not None:
            return f"{samples:,.0f} samples/s"
        wall = self.wall_seconds
        if self._total_steps and wall > 0:
            return f"{self._total_steps / wall:,.1f} steps/s"
        return None

    def _eta(self, now: float) -> float | None:
        """Seconds left: the current epoch's rest plus the epochs after it."""
        steps = self._steps()
        if not self._steps_known and self._steps_seen is None:
            steps = None  # first epoch of unknown length: no ETA
        if steps is None:
            return None
        in_epoch = now - self._epoch_t0
        step_time = None
        if self._first_batch is not None and self.last_step > self._first_batch[1]:
            # from the first batch on, which leaves out the first step's compilation
            first_time, first_step = self._first_batch
            step_time = (now - first_time) / (self.last_step - first_step)
        if self._durations:
            per_epoch = sum(self._durations) / len(self._durations)
        elif step_time is not None:
            per_epoch = steps * step_time
        else:
            return None
        if step_time is not None:
            current = max(steps - self.last_step, 0) * step_time
        else:
            current = max(per_epoch - in_epoch, 0.0)
        after = max(self.epochs - self.last_epoch - 1, 0)
        return current + after * per_epoch

    def _progress_text(self, now: float) -> str:
        steps = self._steps_known or self._steps_seen
        if self._first_epoch is None:
            return f"starting: {self.epochs} epochs" + (f" of {steps} steps" if steps else "")
        parts = [
            f"epoch {self.last_epoch + 1}/{self.epochs}",
            f"step {self.last_step}/{steps}" if steps else f"step {self.last_step}",
            f"{_seconds(self.wall_seconds)} elapsed",
        ]
        eta = self._eta(now)
        if eta is not None:
            parts.append(f"ETA {_seconds(eta)}")
        rate = self._rate()
        if rate:
            parts.append(rate)
        loss = self._latest.get("loss")
        if loss is not None:
            parts.append(f"loss {_number(loss)}")
        return " | ".join(parts)

    def _final_text(self) -> str:
        details = [_seconds(self.wall_seconds)]
        rate = self._rate()
        if rate:
            details.append(rate)
        for key in ("loss", "val_loss"):
            series = self.history.get(key)
            value = series[-1] if series else self._latest.get(key)
            if value is not None:
                details.append(f"{key} {_number(value)}")
        if self.stop_reason is not None:
            steps = self._steps_known or self._steps_seen
            where = f"step {self.last_step}/{steps}" if steps else f"step {self.last_step}"
            head = f"stopped at epoch {self.last_epoch + 1} {where}: {self.stop_reason}"
            text = f"{head} ({', '.join(details)})"
        else:
            done, planned = self._epochs_done, self.epochs - (self._first_epoch or 0)
            count = f"{done} epoch{'s' if done != 1 else ''}"
            if done < planned:
                count = f"{done} of {planned} epochs"
            text = f"done: {count}, {', '.join(details)}"
        if self.mode == "text":
            text += "".join(f"\n  {line}" for line in self._summary_lines())
        return text

    def _summary_lines(self) -> list[str]:
        """The final epoch value of every metric (its validation twin alongside)."""
        panels = self.panels
        width = max((len(p) for p in panels), default=0)
        lines = []
        for panel in panels:
            train = self.history.get(panel)
            val = self.history.get(f"val_{panel}")
            if train:
                text = _number(train[-1])
            elif panel in self._latest:
                text = f"{_number(self._latest[panel])} (last batch)"
            else:
                text = "-"
            if val:
                text += f"   val {_number(val[-1])}"
            lines.append(f"{panel:<{width}}  {text}")
        return lines

    # -- drawing ---------------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        """Copy what a drawing needs, so another thread can draw while training goes on."""
        steps = self._steps() or 1
        series = {}
        for panel in self.panels:
            sampler = self._drawn.get(panel)
            batch = sampler.xy(steps) if sampler else ([], [])
            points = {"batch": (list(batch[0]), list(batch[1]))}
            for role, key in (("epoch", panel), ("val", f"val_{panel}")):
                finite = [(x, y) for x, y in self._epoch_points.get(key, []) if math.isfinite(y)]
                points[role] = ([x for x, _ in finite], [y for _, y in finite])
            series[panel] = points
        first = float(self._first_epoch or 0)
        return {"series": series, "first": first, "last": max(float(self.epochs), first + 1.0)}

    def _render(self, snapshot: dict[str, Any] | None = None) -> bytes:
        """Update the figure's lines from a snapshot (default: now) and render it to PNG bytes."""
        snapshot = snapshot if snapshot is not None else self._snapshot()
        series = snapshot["series"]
        panels = list(series)
        if self.figure is None or self._figure_panels != panels:
            self._build_figure(panels)
        for panel in panels:
            artists = self._artists[panel]
            ax = artists["axes"]
            right = snapshot["last"]
            for role in ("batch", "epoch", "val"):
                xs, ys = series[panel][role]
                artists[role].set_data(xs, ys)
                if role != "batch":  # markers only while they stay apart
                    artists[role].set_marker(
                        ("o" if role == "epoch" else "s") if len(xs) <= 40 else ""
                    )
                if xs:
                    right = max(right, max(xs))
            # Batches and epochs are always in the legend (epoch points come at the first
            # epoch end): a legend that changes forces a full redraw of the cached background.
            shown = ("batch", "epoch") + (("val",) if len(artists["val"].get_xdata()) else ())
            if shown != artists["legend"] and panel == panels[0]:
                # One legend for the figure (text is most of the drawing time): every panel
                # uses the same colours for batch, epoch and validation values.
                artists["legend"] = shown
                if shown:
                    labels = {"batch": "batches", "epoch": "epochs", "val": "validation"}
                    ax.legend(
                        handles=[artists[r] for r in shown],
                        labels=[labels[r] for r in shown],
                        loc="best",
                        fontsize="small",
                    )
            ax.set_xlim(snapshot["first"], right)
            ax.relim()
            ax.autoscale_view(scalex=False)
            ax.set_ylim(*_round_limits(ax), auto=None)
        return self._draw_png(panels)

    def _draw_png(self, panels: list[str]) -> bytes:
        """Draw the figure and encode it as PNG, redrawing axes and text only when they change.

        Axes, ticks, labels and titles (most of the drawing time) are drawn once into a
        cached background and redrawn only when a panel's limits or the legend change (the y
        limits are rounded to tick values, so that is rare); each render restores that
        background and draws the lines and the legend over it.
        """
        from PIL import Image

        canvas = self.figure.canvas
        legend = self._artists[panels[0]]["axes"].get_legend() if panels else None
        moving = [self._artists[p][role] for p in panels for role in ("batch", "epoch", "val")]
        moving += [legend] if legend is not None else []
        key = (
            tuple(self._figure_panels or ()),
            tuple(self.figure.get_size_inches()),
            tuple(
                (self._artists[p]["axes"].get_xlim(), self._artists[p]["axes"].get_ylim())
                for p in panels
            ),
            self._artists[panels[0]]["legend"] if panels else (),
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
        width, height = canvas.get_width_height(physical=True)
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _build_figure(self, panels: list[str]) -> None:
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
        axes = fig.subplots(rows, cols, squeeze=False).flat
        self._artists = {}
        for index, ax in enumerate(axes):
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
            self._artists[panel] = {
                "axes": ax,
                "batch": batch,
                "epoch": epoch,
                "val": val,
                "legend": (),
            }
        self._figure_panels = list(panels)
        self._background_key = None
