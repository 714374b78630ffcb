"""The live training view: one figure and one progress line, updated in place while Keras trains.

:class:`LiveView` is a Keras callback. In a Jupyter kernel it shows one matplotlib figure (a
panel per loss/metric, ``val_X`` drawn in the ``X`` panel) and one progress line, each created
once and then updated in place through an IPython ``display_id``: no ``clear_output``, no new
figure per epoch. In a plain terminal it prints a throttled one-line progress and, at the end,
a text summary; a :class:`~kreg.ui.liveview.sinks.Sink` can send both elsewhere (a widget).
Redraws are throttled by time and by their own cost, so that drawing stays a small fraction
of the wall time. No exception ever escapes into training: the first one is kept in
:attr:`LiveView.error` and the live output stops (recording goes on).

One job per module: :mod:`~kreg.ui.liveview.recorder` keeps what happened (no Keras, no
matplotlib), :mod:`~kreg.ui.liveview.text` words it, :mod:`~kreg.ui.liveview.renderer` draws
it, :mod:`~kreg.ui.liveview.sinks` show it and :mod:`~kreg.ui.liveview.view` is the callback
that composes them. ``LiveView`` is imported on first use, so that the others need no Keras.

Example:
    >>> from kreg.ui.liveview import LiveView
    >>> LiveView(epochs=1, mode="off").mode
    'off'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kreg.ui.liveview.recorder import MAX_POINTS
from kreg.ui.liveview.renderer import PNG_MAGIC
from kreg.ui.liveview.sinks import MODES, PLACEHOLDER, WidgetSink, running_in_kernel

if TYPE_CHECKING:
    from kreg.ui.liveview.view import LiveView

__all__ = [
    "MAX_POINTS",
    "MODES",
    "PLACEHOLDER",
    "PNG_MAGIC",
    "LiveView",
    "WidgetSink",
    "running_in_kernel",
]


def __getattr__(name: str) -> object:
    if name == "LiveView":
        from kreg.ui.liveview.view import LiveView

        return LiveView
    raise AttributeError(f"module 'kreg.ui.liveview' has no attribute {name!r}")
