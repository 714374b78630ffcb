"""The plugin ``realcases``: registers tests/realcases' components with examples and tags.

Targets are ``"module:attr"`` strings, so nothing here imports Keras until an entry is used.
"""

from __future__ import annotations

from typing import Any

import kreg

LOSSES = "tests.realcases.losses"
METRICS = "tests.realcases.metrics"


def ranking_lists() -> dict[str, Any]:
    """Four lists of five items, relevance labels and scores (5 items, so never batch-sized)."""
    import numpy as np

    rng = np.random.default_rng(3)
    return {
        "y_true": rng.integers(0, 3, (4, 5)).astype("float32"),
        "y_pred": rng.normal(size=(4, 5)).astype("float32"),
    }


def per_item_weights() -> dict[str, Any]:
    """The ranking lists with per-item weights, shaped like what call() returns."""
    return {**ranking_lists(), "sample_weight": __import__("numpy").ones((4, 5), "float32")}


def masked_lists() -> dict[str, Any]:
    """Ranking lists as keras-rs gives them: ``y_true`` is ``{"labels", "mask"}``."""
    import numpy as np

    lists = ranking_lists()
    mask = np.ones((4, 5), "float32")
    mask[:, 3:] = 0.0
    return {"y_true": {"labels": lists["y_true"], "mask": mask}, "y_pred": lists["y_pred"]}


def embeddings() -> dict[str, Any]:
    """Four embeddings and their pair ids, for a contrastive loss."""
    import numpy as np

    rng = np.random.default_rng(4)
    return {
        "y_true": np.array([[1], [0], [3], [2]], "float32"),
        "y_pred": rng.normal(size=(4, 8)).astype("float32"),
    }


def boxes() -> dict[str, Any]:
    """Boxes and the required constructor argument, given in the example's config."""
    import numpy as np

    rng = np.random.default_rng(5)
    true = rng.uniform(0, 10, (4, 4)).astype("float32")
    return {
        "y_true": true,
        "y_pred": true + rng.normal(size=(4, 4)).astype("float32"),
        "config": {"bounding_box_format": "xywh"},
    }


def same_errors() -> dict[str, Any]:
    """Every sample has the same errors: sample 0's weight cannot change a mean."""
    import numpy as np

    return {"y_true": np.zeros((4, 3), "float32"), "y_pred": np.full((4, 3), 0.5, "float32")}


def ragged_tokens() -> dict[str, Any]:
    """Token-id sequences of different lengths, as ragged tensors."""
    import tensorflow as tf

    true = tf.ragged.constant([[1, 2, 3], [4, 5], [6], [7, 8, 9, 10]])
    pred = tf.ragged.constant([[1, 0, 0], [4, 0], [6], [7, 0, 9, 0]])
    return {"y_true": true, "y_pred": pred}


@kreg.hookimpl
def register_losses(register: Any) -> None:
    """The losses, one per case."""
    register(f"{LOSSES}:PerItemLoss", example=ranking_lists)
    register(f"{LOSSES}:PerItemLoss", "per_item_loss_weighted", example=per_item_weights)
    register(f"{LOSSES}:MaskedListLoss", example=masked_lists)
    register("tests.realcases:SimCLRLoss", example=embeddings, tags=["per-batch"])
    register(f"{LOSSES}:SimCLRLoss", "simclr_untagged", example=embeddings)
    register(f"{LOSSES}:SmoothDiceLoss")
    register(f"{LOSSES}:BoxLoss", example=boxes)
    register(f"{LOSSES}:OwnConfigBoxLoss", example=boxes)
    register(f"{LOSSES}:RougeLoss")
    register(f"{LOSSES}:FirstCollidingLoss")
    register(f"{LOSSES}:OwnNameLoss")
    register("tests.realcases.noisy:NoisyLoss")
    register(f"{LOSSES}:DiceLoss", tags=["per-batch"])  # a Dice over the whole batch


@kreg.hookimpl
def register_metrics(register: Any) -> None:
    """The metrics, one per case."""
    register(f"{METRICS}:PrecisionRecall")
    register(f"{METRICS}:LiveTotal")
    register(f"{METRICS}:UnweightedMeanError")
    register(f"{METRICS}:UnweightedMeanError", "uniform_mean_error", example=same_errors)
    register(f"{METRICS}:NumpyMedianError", tags=["eager-only"])
    register(f"{METRICS}:NumpyMedianError", "numpy_median_untagged")
    register(f"{METRICS}:GraphSafeMeanError", tags=["eager-only"])
    register(f"{METRICS}:TokenOverlap", example=ragged_tokens)
    register(f"{LOSSES}:iou_score")


@kreg.hookimpl
def register_optimizers(register: Any) -> None:
    """The optimizers, one per case."""
    register("tests.realcases.optimizers:FrozenCounterSGD")
    register("tests.realcases.optimizers:Optimizer")
