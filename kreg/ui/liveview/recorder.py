"""What a live view knows of a run: every logged value, where training is, its clock and ETA.

Pure Python (neither Keras, matplotlib, IPython nor numpy), so that recording costs little and
can be read without any of them. It also holds the two decisions drawing depends on: how
per-batch points are downsampled, and when an output may be refreshed (:class:`Throttle`).

Example:
    >>> recorder = Recorder(epochs=2, steps_per_epoch=2, batch_size=8)
    >>> recorder.start(now=0.0)
    >>> recorder.begin_epoch(0, now=0.0)
    >>> recorder.record_batch(0, {"loss": 2.0}, now=1.0)
    >>> recorder.record_batch(1, {"loss": 1.0}, now=2.0)
    >>> recorder.record_epoch(0, {"loss": 1.5, "val_loss": 1.75}, now=2.0)
    >>> recorder.history, recorder.batches, recorder.eta(now=2.0)
    ({'loss': [1.5], 'val_loss': [1.75]}, {'loss': [(0.5, 2.0), (1.0, 1.0)]}, 2.0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kreg.training.logs import scalar

MAX_POINTS = 500
"""The most per-batch points a panel draws: beyond it they are averaged into buckets."""

Points = tuple[list[float], list[float]]
"""The ``(xs, ys)`` of one line."""


class Throttle:
    """Decides when an output may be refreshed: at most every ``min_interval`` seconds, and
    after one that took ``d`` seconds not before ``d / max_overhead`` seconds have passed.

    Example:
        >>> throttle = Throttle(min_interval=0.25, max_overhead=0.02)
        >>> throttle.start(now=10.0)
        >>> throttle.due(10.1), throttle.due(10.25)
        (False, True)
        >>> throttle.done(took=0.01, now=10.3)
        >>> throttle.due(10.75), throttle.due(10.8)
        (False, True)
    """

    def __init__(self, min_interval: float, max_overhead: float) -> None:
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be in (0, 1], not {max_overhead!r}")
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, not {min_interval!r}")
        self.min_interval, self.max_overhead = float(min_interval), float(max_overhead)
        self.next_at = 0.0

    def start(self, now: float) -> None:
        """Training began at ``now``: the first refresh waits ``min_interval``."""
        self.next_at = now + self.min_interval

    def due(self, now: float) -> bool:
        """Whether a refresh may happen at ``now``."""
        return now >= self.next_at

    def done(self, took: float, now: float) -> None:
        """A refresh that took ``took`` seconds ended at ``now``."""
        self.next_at = now + max(self.min_interval, took / self.max_overhead)


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

    def xy(self, steps: float) -> Points:
        xs = [(e + s / steps) / n for e, s, _, n in self.buckets]
        return xs, [v / n for _, _, v, n in self.buckets]


@dataclass(frozen=True)
class Snapshot:
    """A copy of what a drawing needs, so that another thread can draw while training goes on.

    ``series[panel]`` maps ``"batch"`` (bucket means), ``"epoch"`` and ``"val"`` (the finite
    epoch values of ``X`` and ``val_X``) to their points; the x axis spans ``first`` to
    ``last`` epochs (or further, to the last point).

    Example:
        >>> recorder = Recorder(epochs=3)
        >>> recorder.record_epoch(0, {"loss": 0.5}, now=1.0)
        >>> recorder.snapshot()
        Snapshot(series={'loss': {'batch': ([], []), 'epoch': ([1.0], [0.5]), 'val': ([], [])}},
                 first=0.0, last=3.0)
    """

    series: dict[str, dict[str, Points]]
    first: float
    last: float


def _raise(error: Exception) -> None:
    raise error


class Recorder:
    """The values, position and timing of one run, fed by a view's Keras hooks.

    Args:
        epochs: the run's last epoch (Keras's ``params["epochs"]``).
        steps_per_epoch: steps per epoch when known before training; otherwise the first
            epoch's length is learnt at its end (and there is no ETA within it).
        batch_size: samples per step, for samples/s.
        on_error: called with the exception a log value raised when converted to a float
            (that value is skipped and recording goes on); by default it is raised.

    Attributes:
        history: epoch-level values per log key, like ``keras.callbacks.History.history``.
        latest: the last values logged (the last batch's, then the epoch's over them).
        last_epoch: Keras's 0-based index of the current (or last) epoch.
        last_step: steps completed in that epoch.
        first_epoch: the first epoch's index (``initial_epoch``), None before it begins.
        epochs_done: how many epochs ended.
        total_steps: steps run in all.
        steps_learnt: the first epoch's length once it ended, when it was not known.
        stop_reason: why training stopped early (see :meth:`stop`), or None.

    Example:
        >>> recorder = Recorder(epochs=1)
        >>> recorder.record_epoch(0, {"accuracy": 0.5, "loss": 1.0, "val_loss": 2.0}, now=1.0)
        >>> recorder.panels, recorder.plottable()
        (['loss', 'accuracy'], False)
    """

    def __init__(
        self,
        *,
        epochs: int,
        steps_per_epoch: int | None = None,
        batch_size: int | None = None,
        on_error: Callable[[Exception], None] = _raise,
    ) -> None:
        self.epochs = int(epochs)
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.on_error = on_error
        self.history: dict[str, list[float]] = {}
        self.latest: dict[str, float] = {}
        self.last_epoch = 0
        self.last_step = 0
        self.first_epoch: int | None = None
        self.epochs_done = 0
        self.total_steps = 0
        self.steps_learnt: int | None = None
        self.stop_reason: str | None = None
        self._raw: dict[str, list[tuple[int, int, float]]] = {}
        self._drawn: dict[str, _Downsampled] = {}
        self._epoch_points: dict[str, list[tuple[float, float]]] = {}
        self._panel_order: list[str] = []
        self._started: float | None = None
        self._ended: float | None = None
        self._epoch_started = 0.0
        self._first_batch: tuple[float, int] | None = None  # (time, step) of an epoch's first
        self._durations: list[float] = []

    # -- recording -------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Training began at ``now``: start the clock."""
        self._started = self._epoch_started = now

    def end(self, now: float) -> None:
        """Training ended at ``now``: freeze :attr:`wall_seconds` (if it had begun)."""
        if self._started is not None:
            self._ended = now

    def begin_epoch(self, epoch: int, now: float) -> None:
        """Epoch ``epoch`` (Keras's index) began at ``now``."""
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.last_epoch, self.last_step = epoch, 0
        self._epoch_started = now
        self._first_batch = None

    def record_batch(self, batch: int, logs: Mapping[str, object] | None, now: float) -> None:
        """Record a batch's values at ``now``.

        ``batch`` is the index of the last step run (with ``steps_per_execution=N`` Keras
        calls once per N steps), so ``batch + 1`` steps of the epoch are done.
        """
        step = int(batch) + 1
        self.total_steps += max(step - self.last_step, 0)
        self.last_step = step
        if self._first_batch is None:
            self._first_batch = (now, step)
        values = self._values(logs)
        self.latest = values
        epoch = self.last_epoch
        for key, value in values.items():
            self._raw.setdefault(key, []).append((epoch, step, value))
            if math.isfinite(value):
                self._drawn.setdefault(key, _Downsampled()).add(epoch, step, value)

    def record_epoch(self, epoch: int, logs: Mapping[str, object] | None, now: float) -> None:
        """Record the values (training and validation) of the epoch that ended at ``now``."""
        values = self._values(logs)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
            self._epoch_points.setdefault(key, []).append((epoch + 1.0, value))
        if self.steps_learnt is None and self.last_step:
            self.steps_learnt = self.last_step
        self.epochs_done += 1
        self._durations.append(now - self._epoch_started)
        self.latest = {**self.latest, **values}

    def stop(self, reason: str, at: tuple[int, int] | None = None) -> None:
        """Training stopped early for ``reason``.

        ``at`` is ``(epoch index, steps completed in it)`` as training knows it: a callback
        that failed before the view may have hidden the last step from it.

        Example:
            >>> recorder = Recorder(epochs=2, steps_per_epoch=4)
            >>> recorder.begin_epoch(1, now=0.0)
            >>> recorder.record_batch(0, {}, now=1.0)
            >>> recorder.stop("interrupted", at=(1, 2))
            >>> recorder.last_epoch, recorder.last_step, recorder.stop_reason
            (1, 2, 'interrupted')
        """
        self.stop_reason = str(reason)
        if at is not None:
            epoch, step = at
            if epoch == self.last_epoch and self.last_step < step:
                self.last_step = step

    def _values(self, logs: Mapping[str, object] | None) -> dict[str, float]:
        """The scalar values of ``logs`` as floats; each key's panel is noted."""
        values: dict[str, float] = {}
        for key, raw in (logs or {}).items():
            try:
                value = scalar(raw)
            except Exception as error:
                self.on_error(error)
                continue
            if value is None:
                continue
            values[key] = value
            panel = key[4:] if key.startswith("val_") and len(key) > 4 else key
            if panel not in self._panel_order:
                self._panel_order.append(panel)
        return values

    # -- what was recorded -----------------------------------------------------------------

    @property
    def batches(self) -> dict[str, list[tuple[float, float]]]:
        """Every per-batch point, ``(fractional epoch, value)`` per log key, NaN included."""
        steps = self._steps_for_positions()
        return {
            key: [(e + (s / steps if steps else 0.0), v) for e, s, v in points]
            for key, points in self._raw.items()
        }

    @property
    def panels(self) -> list[str]:
        """The panel names: ``loss`` first, then each other metric in the order first logged.

        ``val_X`` is drawn in the ``X`` panel, so it never has a panel of its own.
        """
        return sorted(self._panel_order, key=lambda name: name != "loss")

    @property
    def known_steps(self) -> int | None:
        """Steps per epoch: known before training or learnt from the first epoch; else None."""
        return self.steps_per_epoch or self.steps_learnt or None

    def _steps_for_positions(self) -> int | None:
        """Steps per epoch for placing points: known, learnt, or the most seen so far."""
        return self.known_steps or self.last_step or None

    # -- timing ----------------------------------------------------------------------------

    @property
    def wall_seconds(self) -> float:
        """Seconds since training began (frozen by :meth:`end`); 0.0 before."""
        if self._started is None:
            return 0.0
        end = self._ended if self._ended is not None else time.perf_counter()
        return end - self._started

    @property
    def steps_per_second(self) -> float | None:
        """Steps run per second of wall time; None before any step."""
        wall = self.wall_seconds
        if not self.total_steps or wall <= 0:
            return None
        return self.total_steps / wall

    @property
    def samples_per_second(self) -> float | None:
        """``batch_size × steps / wall_seconds`` (every step counted as a full batch); None
        without a batch size or before any step.
        """
        steps = self.steps_per_second
        if not self.batch_size or steps is None:
            return None
        return self.batch_size * steps

    def eta(self, now: float) -> float | None:
        """Seconds left at ``now``: the current epoch's rest plus the epochs after it.

        None within a first epoch of unknown length, and before anything was timed.

        Example:
            >>> recorder = Recorder(epochs=3, steps_per_epoch=10)
            >>> recorder.start(now=0.0)
            >>> recorder.begin_epoch(0, now=0.0)
            >>> recorder.record_batch(0, {}, now=5.0)
            >>> recorder.record_batch(4, {}, now=6.0)
            >>> recorder.eta(now=6.0)  # 0.25 s a step from the first batch on: 5 + 2 * 10 steps
            6.25
        """
        steps = self.known_steps
        if steps is None:
            return None
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
            current = max(per_epoch - (now - self._epoch_started), 0.0)
        after = max(self.epochs - self.last_epoch - 1, 0)
        return current + after * per_epoch

    # -- what a drawing needs --------------------------------------------------------------

    def plottable(self) -> bool:
        """Whether a mid-run figure would show a line: some series has two points.

        A figure of one point has degenerate y limits, and its cached background would
        have to be redrawn at the next render; the placeholder stays until then.

        Example:
            >>> recorder = Recorder(epochs=2)
            >>> recorder.record_epoch(0, {"loss": 1.0}, now=1.0)
            >>> recorder.plottable()
            False
            >>> recorder.record_epoch(1, {"loss": 0.5}, now=2.0)
            >>> recorder.plottable()
            True
        """
        return any(len(points.buckets) >= 2 for points in self._drawn.values()) or any(
            len(points) >= 2 for points in self._epoch_points.values()
        )

    def snapshot(self) -> Snapshot:
        """Copy the series of every panel (see :class:`Snapshot`)."""
        steps = self._steps_for_positions() or 1
        series: dict[str, dict[str, Points]] = {}
        for panel in self.panels:
            sampler = self._drawn.get(panel)
            lines = {"batch": sampler.xy(steps) if sampler else ([], [])}
            for role, key in (("epoch", panel), ("val", f"val_{panel}")):
                finite = [(x, y) for x, y in self._epoch_points.get(key, []) if math.isfinite(y)]
                lines[role] = ([x for x, _ in finite], [y for _, y in finite])
            series[panel] = lines
        first = float(self.first_epoch or 0)
        return Snapshot(series, first, max(float(self.epochs), first + 1.0))
