"""Which sample weights the weight checks give a loss: the ones Keras itself would apply.

``fit(..., sample_weight=w)`` multiplies ``w`` into what ``call()`` returns. One weight per
sample, shape ``(batch,)``, suits a loss that reduces the last axis of a 2-D ``y_pred``.
For sequences (``y_pred`` of shape ``(batch, time, features)``) Keras's own losses return
``(batch, time)`` and ``fit`` needs weights of that shape; a loss that keeps every axis of
``y_pred`` (per-item ranking losses) cannot take ``(batch,)`` weights at all, which is
worth telling its author. An example may give its own ``sample_weight``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kreg.contracts.batches import leaves
from kreg.contracts.common import CheckFailed, describe
from kreg.contracts.examples import Example


def loss_weights(
    example: Example,
    output_shape: tuple[int, ...],
    y_pred: Any,
    weigh: Callable[[np.ndarray], Any],
) -> tuple[np.ndarray, str]:
    """The weights (all 1) to check a loss with, and how they were chosen, for messages.

    ``output_shape`` is what ``call()`` returns for the example; ``weigh(weights)`` runs
    the loss with those weights (to find out whether ``(batch,)`` weights work at all).

    Raises:
        CheckFailed: ``call()`` keeps every axis of ``y_pred``, so one weight per sample
            cannot be applied (and the example gives no weights of its own).

    Example:
        >>> import numpy as np
        >>> weights, how = loss_weights(Example(), (4, 3), np.zeros((4, 3, 2)), print)
        >>> weights.shape, how
        ((4, 3), 'of shape (4, 3), one per element of what call() returns, as fit() needs')
    """
    batch = output_shape[0]
    if example.sample_weight is not None:
        given = np.ones_like(np.asarray(example.sample_weight, "float32"))
        return given, f"of shape {given.shape} (the example's)"
    if len(output_shape) <= 1:
        return np.ones(batch, "float32"), f"of shape ({batch},)"
    predicted = tuple(leaves(y_pred)[0].shape)
    if len(output_shape) < len(predicted):  # the last axis is reduced, as Keras's losses do
        how = f"of shape {output_shape}, one per element of what call() returns, as fit() needs"
        return np.ones(output_shape, "float32"), how
    per_sample = np.ones(batch, "float32")
    try:
        weigh(per_sample)
    except Exception as error:
        raise CheckFailed(
            f"call() returns shape {output_shape} for y_pred of shape {predicted}: it keeps "
            f"every axis, so fit(..., sample_weight=w) with one weight per sample (shape "
            f"({batch},)) fails, as here: Keras multiplies w into call()'s output "
            f"({describe(error)}). Reduce the last axis in call() to give one loss per "
            f"sample; or, if per-item weights are meant, document that sample_weight must "
            f"have shape {output_shape} and give such weights in the example (sample_weight=)"
        ) from error
    return per_sample, f"of shape ({batch},)"
