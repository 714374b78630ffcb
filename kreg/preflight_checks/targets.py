"""The facts preflight reads from a bounded sample of the targets ``y``.

An array gives at most :data:`MAX_ROWS` rows, taken evenly over the whole array (data
sorted by class would hide classes in its first rows), and at most
:data:`MAX_VALUES` values; a ``tf.data.Dataset`` gives its first batch and is iterated
no further. ``x`` is never read or copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_ROWS = 10_000
"""Rows of an array ``y`` read at most."""
MAX_VALUES = 1_000_000
"""Values read at most (segmentation masks have many per row)."""
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Targets:
    """What a sample of one output's targets holds.

    Example:
        >>> t = targets_of(np.array([0, 2, 1, 2]))
        >>> t.rank, t.integer_valued, t.classes, t.low, t.high
        (1, True, (0, 1, 2), 0.0, 2.0)
        >>> targets_of(np.eye(3)[[0, 2, 1]]).one_hot_rows
        True
    """

    shape: tuple[Any, ...]  # of the whole y (batch axis first), when known
    rows: int  # rows sampled
    low: float
    high: float
    integer_valued: bool
    classes: tuple[int, ...] | None  # the distinct values, when few (<= 256) and integer
    one_hot_rows: bool  # rank >= 2, last axis > 1, each row one 1 and zeros
    probability_rows: bool  # rank >= 2, last axis > 1, non-negative rows summing to 1

    @property
    def rank(self) -> int:
        """The number of axes of ``y`` (1 for ``(n,)``)."""
        return len(self.shape)

    @property
    def last(self) -> int | None:
        """The size of ``y``'s last axis (None for ``(n,)``)."""
        return self.shape[-1] if self.rank >= 2 else None

    @property
    def binary(self) -> bool:
        """Every value 0 or 1."""
        return self.classes is not None and set(self.classes) <= {0, 1}

    @property
    def signed(self) -> bool:
        """Every value -1 or +1, both present."""
        return self.classes == (-1, 1)

    @property
    def in_unit_interval(self) -> bool:
        """Every value in [0, 1]."""
        return self.low >= -_TOLERANCE and self.high <= 1 + _TOLERANCE


def sample_rows(y: Any) -> Any:
    """At most :data:`MAX_ROWS` rows (and :data:`MAX_VALUES` values) of ``y``, evenly spaced.

    Example:
        >>> sample_rows(np.arange(1_000_000)).shape
        (10000,)
    """
    rows = len(y)
    per_row = int(np.prod(y.shape[1:])) if len(y.shape) > 1 else 1
    wanted = max(1, min(MAX_ROWS, MAX_VALUES // max(per_row, 1), rows))
    step = max(1, rows // wanted)
    return y[::step][:wanted]


def targets_of(y: Any) -> Targets | None:
    """The facts of one output's targets (an array, a tensor, a list), or None if not numeric.

    Example:
        >>> targets_of(np.array([[1.5], [52.0]])).integer_valued
        False
        >>> targets_of(["cat", "dog"]) is None
        True
    """
    if not readable(y):
        return None
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            y = np.asarray(y)
        except (ValueError, TypeError):
            return None
        shape = y.shape
    shape = tuple(int(d) if d is not None else None for d in shape)
    if not shape or shape[0] in (None, 0):
        return None
    try:
        sample = np.asarray(sample_rows(y))
    except (TypeError, ValueError):
        return None
    if sample.dtype.kind not in "biuf" or sample.size == 0:
        return None
    values = sample.astype(np.float64, copy=False)
    if not np.all(np.isfinite(values)):
        values = values[np.isfinite(values)]
        if values.size == 0:
            return None
    low, high = float(values.min()), float(values.max())
    integer = bool(sample.dtype.kind in "biu" or np.all(values == np.round(values)))
    classes = None
    if integer:
        distinct = np.unique(values)
        if distinct.size <= 256:
            classes = tuple(int(v) for v in distinct)
    one_hot = probability = False
    if sample.ndim >= 2 and sample.shape[-1] > 1:
        sums = sample.astype(np.float64).sum(axis=-1)
        probability = bool(low >= -_TOLERANCE and np.all(np.abs(sums - 1) <= _TOLERANCE))
        one_hot = probability and classes is not None and set(classes) <= {0, 1}
    return Targets(shape, int(sample.shape[0]), low, high, integer, classes, one_hot, probability)


_ARRAY_LIBRARIES = ("numpy", "tensorflow", "pandas", "jax", "jaxlib", "torch", "keras")


def readable(value: Any) -> bool:
    """Whether ``value`` is data preflight may read: an array or tensor of a known library, or
    a list/tuple. Other objects of the notebook are never touched (reading an attribute
    can run their code).

    Example:
        >>> readable(np.zeros(3)), readable([0, 1]), readable(object())
        (True, True, False)
    """
    kind = type(value)
    return issubclass(kind, (np.ndarray, list, tuple)) or (
        kind.__module__.split(".")[0] in _ARRAY_LIBRARIES
    )


def first_batch(dataset: Any) -> tuple[Any, Any] | None:
    """``(y, sample_weight)`` of a ``tf.data.Dataset``'s first element; None without ``y``.

    Example:
        >>> import tensorflow as tf
        >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((6, 2)), np.arange(6))).batch(4)
        >>> first_batch(data)[0].tolist()
        [0, 1, 2, 3]
    """
    for element in dataset.take(1):
        if isinstance(element, (tuple, list)) and len(element) >= 2:
            weights = element[2] if len(element) >= 3 else None
            return _numpy(element[1]), _numpy(weights)
        return None
    return None


def _numpy(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_numpy(v) for v in value]
    to_numpy = getattr(value, "numpy", None)
    return to_numpy() if callable(to_numpy) else value
