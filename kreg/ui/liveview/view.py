"""The :class:`LiveView` callback: a recorder, the texts, a renderer and a sink, composed.

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
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, NoReturn, TextIO, TypeVar, cast, overload

import keras

from kreg.ui.liveview.recorder import Recorder, Throttle
from kreg.ui.liveview.renderer import Renderer, RenderThread
from kreg.ui.liveview.sinks import Sink, sink_for
from kreg.ui.liveview.text import final_text, progress_text

_Method = TypeVar("_Method", bound=Callable[..., Any])
_T = TypeVar("_T")


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


class _Recorded(Generic[_T]):
    """A read-only attribute of :class:`LiveView`: its recorder's attribute of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, view: None, owner: type) -> _Recorded[_T]: ...
    @overload
    def __get__(self, view: LiveView, owner: type) -> _T: ...
    def __get__(self, view: LiveView | None, owner: type) -> _Recorded[_T] | _T:
        if view is None:
            return self
        return cast(_T, getattr(view.recorder, self.name))

    def __set__(self, view: LiveView, value: NoReturn) -> None:
        raise AttributeError(f"{self.name} is recorded, not set (see LiveView.stopped)")


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
        sink: where output goes instead (``mode`` is then ignored), e.g.
            :class:`~kreg.ui.liveview.sinks.WidgetSink`; the figure is drawn for it when
            ``plot`` and the sink shows figures.

    Attributes:
        history: epoch-level values per log key, like ``keras.callbacks.History.history``.
        batches: every per-batch point, ``(fractional epoch, value)`` per log key, NaN included.
        panels: the panel names: ``loss`` first, then each other metric in the order first
            logged (``val_X`` is drawn in the ``X`` panel).
        last_epoch: Keras's 0-based index of the current (or last) epoch.
        last_step: steps completed in that epoch.
        wall_seconds: seconds since training began (frozen by :meth:`finish`); 0.0 before.
        samples_per_second: ``batch_size × steps / wall_seconds``; None without a batch size.
        epochs: the run's last epoch (Keras's once training began).
        stop_reason: the reason given to :meth:`stopped`, or None.
        draw_seconds: total seconds spent rendering, displaying and printing.
        render_seconds: matplotlib's seconds, mostly off the training thread.
        redraws: how many times the figure was rendered and displayed.
        png: the last rendered PNG, or None.
        figure: the :class:`matplotlib.figure.Figure`, or None before the first render.
        error: the first exception the view caught, or None.
        mode: the resolved mode: ``"notebook"``, ``"text"``, ``"off"`` or the sink's.

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
        >>> LiveView(epochs=1, mode="off").wall_seconds
        0.0
        >>> LiveView(epochs=1, batch_size=32, mode="off").samples_per_second is None
        True
    """

    history: _Recorded[dict[str, list[float]]] = _Recorded()
    batches: _Recorded[dict[str, list[tuple[float, float]]]] = _Recorded()
    panels: _Recorded[list[str]] = _Recorded()
    last_epoch: _Recorded[int] = _Recorded()
    last_step: _Recorded[int] = _Recorded()
    wall_seconds: _Recorded[float] = _Recorded()
    samples_per_second: _Recorded[float | None] = _Recorded()
    epochs: _Recorded[int] = _Recorded()
    stop_reason: _Recorded[str | None] = _Recorded()

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
        sink: Sink | None = None,
    ) -> None:
        super().__init__()
        output = sink if sink is not None else sink_for(mode, stream)
        self._plot_throttle = Throttle(min_interval, max_overhead)
        self._line_throttle = Throttle(min_interval, max_overhead)
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.plot = bool(plot)
        self.requested_mode = mode
        self.sink = output
        self.mode = output.mode if output is not None else "off"
        drawn = self.plot and output is not None and output.shows_figure
        self._figure_sink = output if drawn else None  # the sink the figure is drawn for
        self.title = title
        self.png: bytes | None = None
        self.renderer = Renderer(title)
        self._render_thread = RenderThread(self.renderer)
        self._reset(int(epochs), steps_per_epoch)

    # -- state ---------------------------------------------------------------------------

    def _reset(self, epochs: int, steps_per_epoch: int | None) -> None:
        self.recorder = Recorder(
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            batch_size=self.batch_size,
            on_error=self._fail,
        )
        self.draw_seconds = 0.0
        self.render_seconds = 0.0
        self.redraws = 0
        self.error: BaseException | None = None
        self.finished = False
        self._broken = False

    def _fail(self, exc: BaseException) -> None:
        """Remember the first error and stop all live output (recording goes on)."""
        if self.error is None:
            self.error = exc
        self._broken = True

    @property
    def figure(self) -> Any:
        """The :class:`matplotlib.figure.Figure`, or None before the first render."""
        return self.renderer.figure

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
        self._render_thread.close()  # a render left by a run that never finished
        params = self.params or {}
        epochs = int(params["epochs"]) if params.get("epochs") is not None else self.epochs
        self._reset(epochs, int(params["steps"]) if params.get("steps") else self.steps_per_epoch)
        now = time.perf_counter()
        self.recorder.start(now)
        self._plot_throttle.start(now)
        self._line_throttle.start(now)
        if self.sink is not None:
            self.sink.open(progress_text(self.recorder, now), self.recorder, plot=self.plot)

    @_guarded
    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Note the epoch's index and start time.

        Example:
            >>> view = LiveView(epochs=3, mode="off")
            >>> view.on_epoch_begin(2)
            >>> view.last_epoch, view.last_step
            (2, 0)
        """
        self.recorder.begin_epoch(epoch, time.perf_counter())

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
        now = time.perf_counter()
        self.recorder.record_batch(batch, logs, now)
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
        self.recorder.record_epoch(epoch, logs, now)
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
    def stopped(self, reason: str, at: tuple[int, int] | None = None) -> None:
        """Say that training was stopped (interrupted, NaN...): the final line will say so.

        ``at`` is ``(epoch index, steps completed in it)`` as training's fault guard knows
        it: when a callback before the view failed, the view missed that last step.
        Called after :meth:`finish` (Keras ran ``on_train_end`` before the runner knew),
        it shows the final line again, now saying why training stopped.

        Example:
            >>> import io
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
        self.recorder.stop(reason, at)
        if self.finished:
            self._final_output(redraw=False)

    @_guarded
    def finish(self) -> None:
        """End the run's output: a last redraw (a static PNG stays in the saved notebook) and
        the final line. Idempotent; ``on_train_end`` calls it, and the runner calls it when
        an exception inside ``fit`` skipped ``on_train_end``.

        Example:
            >>> import io
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
        self.recorder.end(time.perf_counter())
        try:
            self._final_output(redraw=True)
        finally:
            self._stop_background()

    def figure_png(self) -> bytes:
        """Render the current state to PNG bytes now, in any mode (also sets :attr:`png`).

        Example:
            >>> from kreg.ui.liveview import PNG_MAGIC
            >>> view = LiveView(epochs=1, mode="off")
            >>> view.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
            >>> view.figure_png().startswith(PNG_MAGIC)
            True
        """
        self._stop_background()
        self.png = self.renderer.render(self.recorder.snapshot())
        return self.png

    # -- output ----------------------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        if self.sink is None or self._broken:
            return
        thread = self._render_thread
        if self._figure_sink is not None:
            if thread.ready():
                self._show_figure(self._figure_sink, thread.take)
            if not thread.busy and self._plot_throttle.due(now) and self.recorder.plottable():
                started = time.perf_counter()
                thread.submit(self.recorder.snapshot())
                self.draw_seconds += time.perf_counter() - started
        if self._line_throttle.due(time.perf_counter()):
            started = time.perf_counter()
            self.sink.show_line(progress_text(self.recorder, started), self.recorder, final=False)
            ended = time.perf_counter()
            self.draw_seconds += ended - started
            self._line_throttle.done(ended - started, ended)

    def _final_output(self, *, redraw: bool) -> None:
        if self.sink is None:
            return
        if redraw and self._figure_sink is not None and not self._broken:
            self._stop_background()
            recorder, thread = self.recorder, self._render_thread
            self._show_figure(self._figure_sink, lambda: thread.render(recorder.snapshot()))
        started = time.perf_counter()
        line = final_text(self.recorder, summary=self.sink.summary, error=self.error)
        try:
            self.sink.show_line(line, self.recorder, final=True)
        except Exception as exc:
            self._fail(exc)
        self.draw_seconds += time.perf_counter() - started

    def _stop_background(self) -> None:
        """Show the render still on the worker thread (unless output stopped); end that thread."""
        if self._figure_sink is not None and not self._broken and self._render_thread.busy:
            self._show_figure(self._figure_sink, self._render_thread.take)
        self._render_thread.close()

    def _show_figure(self, sink: Sink, render: Callable[[], tuple[bytes, float]]) -> None:
        """Show the PNG that ``render`` gives (with its matplotlib seconds) and count it."""
        started = time.perf_counter()
        try:
            png, took = render()
            sink.show_figure(png)
        except Exception as exc:
            self._fail(exc)
            return
        self.png = png
        ended = time.perf_counter()
        self.draw_seconds += ended - started
        self.render_seconds += took
        self.redraws += 1
        self._plot_throttle.done(took, ended)
