"""Where a live view's output goes: a notebook's displays, a text stream, or a widget.

A :class:`Sink` shows the progress line (and the final one) and, when it
:attr:`~Sink.shows_figure`, the figure's PNG. IPython is imported only when a notebook
output is made, never with this module.

Example:
    >>> import io
    >>> from kreg.ui.liveview.recorder import Recorder
    >>> out = io.StringIO()
    >>> sink = sink_for("text", out)
    >>> sink.show_line("epoch 1/2 | step 3/4", Recorder(epochs=2), final=False)
    >>> out.getvalue()
    'epoch 1/2 | step 3/4\\n'
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from kreg.ui.liveview.recorder import Recorder

MODES = ("auto", "notebook", "text", "off")
"""The ``mode`` values of :class:`~kreg.ui.liveview.LiveView`."""

PLACEHOLDER = "(live plot: waiting for the first batch)"
"""What the figure's place in a notebook shows until the first render."""


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


def resolve_mode(mode: str) -> str:
    """The mode a view really uses: ``"auto"`` is ``"notebook"`` in a Jupyter kernel, else
    ``"text"``; ``"notebook"`` falls back to ``"text"`` when no IPython shell exists.

    Example:
        >>> resolve_mode("auto"), resolve_mode("off")
        ('text', 'off')
    """
    if mode == "auto":
        return "notebook" if running_in_kernel() else "text"
    if mode == "notebook":
        from IPython.core.interactiveshell import InteractiveShell

        return "notebook" if InteractiveShell.initialized() else "text"
    return mode


def sink_for(mode: str, stream: TextIO | None = None) -> Sink | None:
    """The sink of a view's ``mode`` (see :func:`resolve_mode`); None for ``"off"``.

    ``stream`` is where text goes (default ``sys.stdout`` at the time of printing).

    Example:
        >>> sink_for("text").mode, sink_for("off")
        ('text', None)
        >>> sink_for("gui")
        Traceback (most recent call last):
        ValueError: mode must be one of 'auto', 'notebook', 'text', 'off', not 'gui'
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    resolved = resolve_mode(mode)
    if resolved == "notebook":
        return NotebookSink()
    if resolved == "text":
        return TextSink(stream)
    return None


class Sink:
    """Where a live view shows its progress line and, if it :attr:`shows_figure`, its figure.

    Attributes:
        mode: the name a view reports as its :attr:`~kreg.ui.liveview.LiveView.mode`.
        shows_figure: whether the view draws its figure for this sink (when ``plot``).
        summary: whether the final line is followed by the text summary of every metric.

    Example:
        >>> class Collect(Sink):
        ...     mode = "list"
        ...     def __init__(self): self.lines = []
        ...     def show_line(self, line, recorder, *, final): self.lines.append(line)
        >>> sink = Collect()
        >>> sink.show_line("done", Recorder(epochs=1), final=True)
        >>> sink.lines, sink.shows_figure
        (['done'], False)
    """

    mode = "sink"
    shows_figure = False
    summary = False

    def open(self, line: str, recorder: Recorder, *, plot: bool) -> None:
        """Training begins: show the first line (and the figure's place when ``plot``)."""

    def show_line(self, line: str, recorder: Recorder, *, final: bool) -> None:
        """Show the progress line, or the ``final`` one (``recorder`` holds the position)."""
        raise NotImplementedError

    def show_figure(self, png: bytes) -> None:
        """Show the figure (only called when :attr:`shows_figure`)."""
        raise NotImplementedError


class TextSink(Sink):
    """Text on a stream: a tty's line is rewritten in place, elsewhere a line per refresh.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> TextSink(out).show_line("done: 1 epoch", Recorder(epochs=1), final=True)
        >>> out.getvalue()
        'done: 1 epoch\\n'
    """

    mode = "text"
    summary = True

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def show_line(self, line: str, recorder: Recorder, *, final: bool) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        isatty = getattr(stream, "isatty", None)
        if isatty is not None and isatty():
            stream.write(f"\r\x1b[2K{line}" + ("\n" if final else ""))
        else:
            stream.write(line + "\n")
        stream.flush()


class NotebookSink(Sink):
    """IPython displays: one progress line and one figure, each created once and then
    updated in place through its ``display_id`` (no ``clear_output``).

    Example:
        >>> sink = NotebookSink()
        >>> sink.mode, sink.shows_figure
        ('notebook', True)
    """

    mode = "notebook"
    shows_figure = True

    def __init__(self) -> None:
        self._line: Any = None  # the DisplayHandle of each output
        self._figure: Any = None

    def open(self, line: str, recorder: Recorder, *, plot: bool) -> None:
        from IPython.display import display

        self._line = display({"text/plain": line}, raw=True, display_id=True)
        self._figure = (
            display({"text/plain": PLACEHOLDER}, raw=True, display_id=True) if plot else None
        )

    def show_line(self, line: str, recorder: Recorder, *, final: bool) -> None:
        from IPython.display import display

        data = {"text/plain": line}
        if self._line is None:
            self._line = display(data, raw=True, display_id=True)
        else:
            self._line.update(data, raw=True)

    def show_figure(self, png: bytes) -> None:
        from IPython.display import Image, display

        image = Image(data=png, format="png")
        if self._figure is None:
            self._figure = display(image, display_id=True)
        else:
            self._figure.update(image)


class WidgetSink(Sink):
    """The live view inside :class:`kreg.widgets.CompileWidget`: the widget's own outputs.

    ``widget`` has ``plot`` (an ``ipywidgets.Image``), ``progress_line`` (an ``HTML``) and
    ``progress`` (an ``IntProgress``, counting steps over the whole run).

    Example:
        >>> from types import SimpleNamespace
        >>> import ipywidgets
        >>> widget = SimpleNamespace(
        ...     plot=ipywidgets.Image(format="png"),
        ...     progress_line=ipywidgets.HTML(),
        ...     progress=ipywidgets.IntProgress(),
        ... )
        >>> recorder = Recorder(epochs=2, steps_per_epoch=4)
        >>> sink = WidgetSink(widget)
        >>> sink.open("starting: 2 epochs of 4 steps", recorder, plot=True)
        >>> recorder.begin_epoch(1, now=0.0)
        >>> recorder.record_batch(2, {}, now=1.0)
        >>> sink.show_line("epoch 2/2 | step 3/4", recorder, final=False)
        >>> widget.progress.value, widget.progress.max, widget.progress_line.value
        (7, 8, 'epoch 2/2 | step 3/4')
    """

    mode = "widget"
    shows_figure = True

    def __init__(self, widget: Any) -> None:
        self.widget = widget

    def open(self, line: str, recorder: Recorder, *, plot: bool) -> None:
        self.widget.progress_line.value = line
        self.widget.progress.max = (recorder.steps_per_epoch or 1) * max(recorder.epochs, 1)
        self.widget.progress.value = 0

    def show_line(self, line: str, recorder: Recorder, *, final: bool) -> None:
        self.widget.progress_line.value = line
        bar = self.widget.progress
        if final and recorder.stop_reason is None:
            bar.value = bar.max
        else:
            steps = recorder.steps_per_epoch or 0
            bar.value = min(bar.max, recorder.last_epoch * steps + recorder.last_step)

    def show_figure(self, png: bytes) -> None:
        self.widget.plot.width = str(int.from_bytes(png[16:20], "big"))  # natural size, unscaled
        self.widget.plot.value = png
