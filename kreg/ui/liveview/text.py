"""The live view's words: the progress line, the final line and the text summary of a run.

Example:
    >>> from kreg.ui.liveview.recorder import Recorder
    >>> recorder = Recorder(epochs=3, steps_per_epoch=100)
    >>> progress_text(recorder, now=0.0)
    'starting: 3 epochs of 100 steps'
"""

from __future__ import annotations

from kreg.ui.liveview.recorder import Recorder


def _seconds(seconds: float) -> str:
    """``12.3 s``, ``4 min 05 s``, ``1 h 02 min``.

    Example:
        >>> _seconds(12.34), _seconds(245), _seconds(3720)
        ('12.3 s', '4 min 05 s', '1 h 02 min')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _number(value: float) -> str:
    """Four significant digits.

    Example:
        >>> _number(0.123456), _number(12345.0)
        ('0.1235', '1.234e+04')
    """
    return f"{value:.4g}"


def _rate(recorder: Recorder) -> str | None:
    """Samples per second, or steps per second without a batch size; None before a step."""
    samples = recorder.samples_per_second
    if samples is not None:
        return f"{samples:,.0f} samples/s"
    steps = recorder.steps_per_second
    if steps is not None:
        return f"{steps:,.1f} steps/s"
    return None


def _where(recorder: Recorder) -> str:
    """``step 3/10``, or ``step 3`` while the epoch's length is unknown."""
    steps = recorder.known_steps
    return f"step {recorder.last_step}/{steps}" if steps else f"step {recorder.last_step}"


def progress_text(recorder: Recorder, now: float) -> str:
    """The progress line at ``now``: epoch, step, elapsed time, ETA, speed and loss.

    Example:
        >>> import time
        >>> recorder = Recorder(epochs=2, steps_per_epoch=4)
        >>> recorder.start(now=time.perf_counter())
        >>> recorder.begin_epoch(0, now=time.perf_counter())
        >>> recorder.record_batch(0, {"loss": 0.5}, now=time.perf_counter())
        >>> progress_text(recorder, now=time.perf_counter())
        'epoch 1/2 | step 1/4 | 0.0 s elapsed | ... steps/s | loss 0.5'
    """
    if recorder.first_epoch is None:
        steps = recorder.known_steps
        return f"starting: {recorder.epochs} epochs" + (f" of {steps} steps" if steps else "")
    parts = [
        f"epoch {recorder.last_epoch + 1}/{recorder.epochs}",
        _where(recorder),
        f"{_seconds(recorder.wall_seconds)} elapsed",
    ]
    eta = recorder.eta(now)
    if eta is not None:
        parts.append(f"ETA {_seconds(eta)}")
    rate = _rate(recorder)
    if rate:
        parts.append(rate)
    loss = recorder.latest.get("loss")
    if loss is not None:
        parts.append(f"loss {_number(loss)}")
    return " | ".join(parts)


def final_text(
    recorder: Recorder, *, summary: bool = False, error: BaseException | None = None
) -> str:
    """The final line: done or stopped (and why), time, speed and the last losses.

    With ``summary``, the :func:`summary_lines` follow, indented; then the ``error`` that
    stopped the live view, if any.

    Example:
        >>> recorder = Recorder(epochs=2)
        >>> recorder.begin_epoch(0, now=0.0)
        >>> recorder.record_epoch(0, {"loss": 0.25, "val_loss": 0.5}, now=1.0)
        >>> print(final_text(recorder, summary=True))
        done: 1 of 2 epochs, 0.0 s, loss 0.25, val_loss 0.5
          loss  0.25   val 0.5
    """
    details = [_seconds(recorder.wall_seconds)]
    rate = _rate(recorder)
    if rate:
        details.append(rate)
    for key in ("loss", "val_loss"):
        series = recorder.history.get(key)
        value = series[-1] if series else recorder.latest.get(key)
        if value is not None:
            details.append(f"{key} {_number(value)}")
    if recorder.stop_reason is not None:
        head = (
            f"stopped at epoch {recorder.last_epoch + 1} {_where(recorder)}: {recorder.stop_reason}"
        )
        text = f"{head} ({', '.join(details)})"
    else:
        done, planned = recorder.epochs_done, recorder.epochs - (recorder.first_epoch or 0)
        count = f"{done} epoch{'s' if done != 1 else ''}"
        if done < planned:
            count = f"{done} of {planned} epochs"
        text = f"done: {count}, {', '.join(details)}"
    if summary:
        text += "".join(f"\n  {line}" for line in summary_lines(recorder))
    if error is not None:
        text += f" (live view stopped after an error: {type(error).__name__}: {error})"
    return text


def summary_lines(recorder: Recorder) -> list[str]:
    """The final epoch value of every metric (its validation twin alongside).

    Example:
        >>> recorder = Recorder(epochs=1)
        >>> recorder.record_batch(0, {"loss": 0.5, "mae": 0.25}, now=1.0)
        >>> summary_lines(recorder)
        ['loss  0.5 (last batch)', 'mae   0.25 (last batch)']
    """
    panels = recorder.panels
    width = max((len(p) for p in panels), default=0)
    lines = []
    for panel in panels:
        train = recorder.history.get(panel)
        val = recorder.history.get(f"val_{panel}")
        if train:
            text = _number(train[-1])
        elif panel in recorder.latest:
            text = f"{_number(recorder.latest[panel])} (last batch)"
        else:
            text = "-"
        if val:
            text += f"   val {_number(val[-1])}"
        lines.append(f"{panel:<{width}}  {text}")
    return lines
