"""Warnings attributed to the user's line, not to kreg's internals."""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue ``message`` as if raised at the first frame outside the kreg package.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_caller("old spelling", DeprecationWarning)
        >>> caught[0].category.__name__
        'DeprecationWarning'
    """
    level = 1
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.dirname(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level + 1)
