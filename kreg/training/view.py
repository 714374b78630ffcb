"""What training needs of a live view: the contract between :mod:`kreg.training` and the ui.

Training never imports a view. The caller (the ``%%kcompile`` magic, the widget) passes one:
any Keras callback with the three methods below. :class:`kreg.ui.liveview.LiveView` is the
one kreg ships.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class TrainingView(Protocol):
    """A Keras callback that shows a run; :func:`kreg.training.fit.fit` puts it last.

    Example:
        >>> class Quiet:
        ...     def stopped(self, reason, at=None): print("stopped:", reason)
        ...     def finish(self): pass
        ...     def figure_png(self): return b""
        >>> view: TrainingView = Quiet()
        >>> view.stopped("interrupted")
        stopped: interrupted
    """

    def stopped(self, reason: str, at: tuple[int, int] | None = None) -> None:
        """Training ended early for ``reason``.

        ``at`` is ``(epoch index, steps completed in that epoch)`` as far as the weights
        go, when the view may have missed the last step (a callback before it raised);
        None when the view's own position is right.
        """

    def finish(self) -> None:
        """End the run's output (idempotent; also called after an exception in ``fit``)."""

    def figure_png(self) -> bytes:
        """The training curves as PNG bytes (for :meth:`kreg.training.run.Run.plot`)."""


@dataclass(frozen=True)
class ViewSettings:
    """What a run tells its view before training starts.

    Example:
        >>> ViewSettings(epochs=3, steps_per_epoch=10, batch_size=32, title="model").epochs
        3
    """

    epochs: int
    steps_per_epoch: int | None
    batch_size: int | None
    title: str


MakeView = Callable[[ViewSettings], TrainingView]
"""Builds the view of one run (the magic's and the widget's differ only in where they show)."""
