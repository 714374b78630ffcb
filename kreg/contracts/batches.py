"""Batches as the checks handle them: arrays, ragged tensors, or dicts and tuples of them.

A batch is whatever a component receives as ``y_true`` or ``y_pred``: keras-rs ranking
losses take ``{"labels": ..., "mask": ...}``, sequence metrics take ragged tensors. Every
leaf has the batch on its leading axis; these helpers count and slice the samples of all
leaves together.
"""

from __future__ import annotations

from typing import Any

import keras


def leaves(batch: Any) -> list[Any]:
    """The arrays of a batch (a dict's in key order); a ragged tensor is one leaf.

    Example:
        >>> import numpy as np
        >>> [leaf.shape for leaf in leaves({"mask": np.ones((4, 2)), "labels": np.zeros((4, 2))})]
        [(4, 2), (4, 2)]
    """
    found: list[Any] = keras.tree.flatten(batch)
    return found


def batch_size(batch: Any) -> int:
    """How many samples a batch holds: the leading size of its first leaf.

    Raises:
        ValueError: the batch has no leaf with a leading axis (a scalar, an empty dict).

    Example:
        >>> import numpy as np
        >>> batch_size({"labels": np.zeros((4, 5)), "mask": np.ones((4, 5))})
        4
    """
    for leaf in leaves(batch):
        rows = getattr(leaf, "nrows", None)  # a RaggedTensor
        if rows is not None:
            return int(rows())
        shape = getattr(leaf, "shape", None)
        if shape is not None and len(shape) and shape[0] is not None:
            return int(shape[0])
        if isinstance(leaf, (list, tuple)):
            return len(leaf)
    raise ValueError(f"cannot tell the batch size of {type(batch).__name__} {batch!r:.80}")


def samples(batch: Any, start: int, stop: int | None = None) -> Any:
    """Samples ``start:stop`` of every leaf, in the batch's own structure.

    Example:
        >>> import numpy as np
        >>> samples({"labels": np.arange(8).reshape(4, 2)}, 1, 3)["labels"].tolist()
        [[2, 3], [4, 5]]
    """
    return keras.tree.map_structure(lambda leaf: leaf[start:stop], batch)


def as_tensors(batch: Any) -> Any:
    """Every array of the batch as a tensor (ragged tensors stay as they are), for tracing.

    Example:
        >>> import numpy as np
        >>> tuple(as_tensors({"x": np.zeros(2)})["x"].shape)
        (2,)
    """
    from kreg.kerasext.backend import to_tensor

    return keras.tree.map_structure(to_tensor, batch)
