"""The live view inside :class:`kreg.widgets.CompileWidget`: the same drawing, widget outputs."""

from __future__ import annotations

from typing import Any

from kreg.notebook.liveplot import LiveView


class WidgetView(LiveView):
    """A :class:`LiveView` whose figure, progress line and bar are the widget's own."""

    def __init__(self, widget: Any, **kwargs: Any) -> None:
        super().__init__(mode="off", **kwargs)
        self.widget = widget
        self.mode = "notebook"  # draw, but into widgets: no IPython display needed

    def on_train_begin(self, logs: Any = None) -> None:
        """Reset the progress bar to this run's length."""
        super().on_train_begin(logs)
        total = (self.steps_per_epoch or 1) * max(self.epochs, 1)
        self.widget.progress.max = total
        self.widget.progress.value = 0

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        """Record the batch and move the bar."""
        super().on_train_batch_end(batch, logs)
        steps = self.steps_per_epoch or 0
        self.widget.progress.value = min(
            self.widget.progress.max, self.last_epoch * steps + self.last_step
        )

    def _open_notebook(self) -> None:
        self.widget.progress_line.value = self._progress_text(0.0)

    def _show_figure(self, png: bytes) -> None:
        self.widget.plot.width = str(int.from_bytes(png[16:20], "big"))  # natural size, unscaled
        self.widget.plot.value = png

    def _show_line(self, line: str, *, final: bool) -> None:
        self.widget.progress_line.value = line
        if final and self.stop_reason is None:
            self.widget.progress.value = self.widget.progress.max
