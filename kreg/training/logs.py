"""Values of Keras's training logs as plain floats (what the history and the live view keep)."""

from __future__ import annotations

import math
from collections.abc import Mapping


def scalar(value: object) -> float | None:
    """``value`` as a float, or None when it is not a scalar (a string, a list, an array...).

    A value that claims to be a number (it has ``__float__``) but fails to convert raises:
    that is an error, not a non-scalar.

    Example:
        >>> import numpy as np
        >>> scalar(np.float32(0.5)), scalar("adam"), scalar(np.zeros(3))
        (0.5, None, None)
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
