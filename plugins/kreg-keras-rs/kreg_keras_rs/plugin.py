"""The kreg hooks of kreg-keras-rs (entry point ``kreg = keras_rs``): a bridge to keras-rs.

keras-rs (the Keras recommender-systems library) ships no kreg entry point, so this
package registers its public losses and metrics. Targets are lazy ``"module:Class"``
strings: ``kreg list`` shows them without importing keras-rs or TensorFlow.

Every component takes ranking lists: ``y_true`` and ``y_pred`` of shape
``(batch, list_size)``, one row per query; labels below 0 mark padding, and
``y_true`` may also be ``{"labels": ..., "mask": ...}``. The examples below are four
such lists of five items with a mask, the data the contract checks need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kreg import hookimpl

LOSSES = "keras_rs.losses"
METRICS = "keras_rs.metrics"

# The defects of keras-rs 0.4 that real Keras 3.15 shows (the tests in tests/ hold the
# evidence). kreg.get warns with the reason the first time a component is built.
_NAMED_MEAN = (
    "its name defaults to 'mean' (inherited from keras.metrics.Mean), so fit() logs it as "
    "'mean' and a second keras-rs metric as 'mean_1'; pass name=..."
)
_WEIGHT_SHAPE = (
    "sample_weight must have shape (batch, list_size), not (batch,): call() returns one loss "
    "per item, so fit(sample_weight=w) with one weight per list fails (Incompatible shapes), "
    "or silently weights items by position when batch_size == list_size"
)
_DICT_Y_TRUE = (
    "y_true={'labels', 'mask'} works when called directly but not in fit() (Keras: 'y_true "
    "and y_pred have different structures'); in fit() mark padded items with label -1"
)


def ranking_lists() -> dict[str, Any]:
    """Four lists of five items: graded labels (0-3), a mask, distinct scores.

    Each list has a relevant item (label >= 1) and the masked items are at the end,
    as padding is; no two scores tie, so tie shuffling cannot change a result.
    """
    import numpy as np

    labels = np.array(
        [[3, 2, 1, 0, 0], [0, 1, 0, 2, 1], [1, 0, 0, 0, 2], [2, 3, 0, 1, 0]], "float32"
    )
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    scores = np.array(
        [
            [0.9, 0.1, 0.6, -0.4, 0.3],
            [0.2, -0.7, 1.1, 0.5, -0.1],
            [-0.3, 0.8, 0.05, 0.4, -0.9],
            [0.7, 0.35, -0.2, 1.2, -0.55],
        ],
        "float32",
    )
    return {"y_true": {"labels": labels, "mask": mask}, "y_pred": scores}


_LOSSES = {
    "pairwise_hinge": "PairwiseHingeLoss",
    "pairwise_logistic": "PairwiseLogisticLoss",
    "pairwise_mean_squared_error": "PairwiseMeanSquaredError",
    "pairwise_soft_zero_one": "PairwiseSoftZeroOneLoss",
    "list_mle": "ListMLELoss",
}
_LOSS_ALIASES = {
    "pairwise_mean_squared_error": ["pairwise_mse"],
    "list_mle": ["listmle"],
}
_METRICS = {
    "dcg": "DCG",
    "ndcg": "NDCG",
    "mean_average_precision": "MeanAveragePrecision",
    "mean_reciprocal_rank": "MeanReciprocalRank",
    "precision_at_k": "PrecisionAtK",
    "recall_at_k": "RecallAtK",
}
_AT_K = ("precision_at_k", "recall_at_k")
"""Their default k=None takes whole lists, where recall is 1 for every list: the checks
could not tell one list from another (a weight of 0 would change nothing)."""


def _cut_at_2() -> dict[str, Any]:
    """:func:`ranking_lists` with ``k=2``: recall@2 per list is then 2/3, 1/2, 0, 2/3."""
    return {**ranking_lists(), "config": {"k": 2}}


_METRIC_ALIASES = {
    "mean_average_precision": ["map"],
    "mean_reciprocal_rank": ["mrr"],
}


RANKING = {"y_true": "ranking", "y_pred": "real", "task": "ranking"}
"""What preflight reads: relevance lists and real scores (see kreg.registry.expects)."""


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    """Four pairwise ranking losses and ListMLE."""
    for name, cls in _LOSSES.items():
        defects = {"dict-y-true-in-fit": _DICT_Y_TRUE}
        if name.startswith("pairwise_"):  # ListMLE returns one loss per list: (batch,) is right
            defects["sample-weight-shape"] = _WEIGHT_SHAPE
        register(
            f"{LOSSES}:{cls}",
            name,
            aliases=[f"{name}_loss", *_LOSS_ALIASES.get(name, [])],
            example=ranking_lists,
            tags=["ranking"],
            defects=defects,
            expects=RANKING,
        )


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    """Six ranking metrics: DCG, nDCG, MAP, MRR, precision@k, recall@k."""
    for name, cls in _METRICS.items():
        register(
            f"{METRICS}:{cls}",
            name,
            aliases=_METRIC_ALIASES.get(name, []),
            example=_cut_at_2 if name in _AT_K else ranking_lists,
            tags=["ranking"],
            defects={"default-name": _NAMED_MEAN, "dict-y-true-in-fit": _DICT_Y_TRUE},
            expects=RANKING,
        )
