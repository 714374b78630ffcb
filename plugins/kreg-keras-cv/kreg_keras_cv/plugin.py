"""The kreg hooks of kreg-keras-cv (entry point ``kreg = keras_cv``): a bridge to keras-cv.

keras-cv 0.9.0 (its last release; the project is archived upstream) ships no kreg entry
point, so this package registers the eight losses of ``keras_cv.losses``. Targets are lazy
``"module:Class"`` strings: ``kreg list`` shows them without importing keras-cv or
TensorFlow.

Each example below is the data its loss is made for: 2-D boxes ``(batch, num_boxes, 4)``
in ``"xyxy"`` format (the IoU losses, checked with ``bounding_box_format="xyxy"``, which
they require), multi-label probabilities (focal), box regression targets (smooth L1),
CenterNet heatmaps, pairs of SimCLR projections, and 3-D boxes for CenterNet's box loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kreg import hookimpl

LOSSES = "keras_cv.losses"

# The defects of keras-cv 0.9.0 that real Keras 3.15 shows (the tests in tests/ hold the
# evidence). kreg.get warns with the reason the first time a component is built.
_DIAGONAL = (
    "on batched boxes (batch, num_boxes, 4) call() takes ops.diagonal over the batch and box "
    "axes, so it pairs boxes of different samples and returns (num_boxes,) values, not one "
    "per sample: the loss is silently wrong (mode='linear': 0.756 instead of 0.414 on "
    "kreg's example) and fit(sample_weight=...) fails; use ciou_loss, which pairs boxes right"
)
_SMOOTHING = (
    "with label_smoothing > 0 no label equals 1.0 any more, so alpha weighs every label as "
    "a negative (1 - alpha): positives get 0.75 instead of 0.25 by default; pass "
    "alpha=1 - alpha to compensate, or do not smooth"
)
_CUTOFF = (
    "for l1_cutoff != 1 the loss jumps at the cutoff (0.5 x**2 below, |x| - 0.5 above, "
    "not |x| - 0.5 * l1_cutoff): with l1_cutoff=2 an error of 1.99 costs 1.98 and one of "
    "2.01 costs 1.51; keep the default l1_cutoff=1"
)
_PER_ELEMENT = (
    "call() returns one loss per heatmap element (batch, height, width, classes), so "
    "fit(sample_weight=w) with one weight per sample fails (Incompatible shapes), or "
    "weighs classes instead of samples when the batch size equals the number of classes; "
    "pass weights of the heatmap's shape (np.broadcast_to(w[:, None, None, None], y.shape))"
)
_HEADING = (
    "the heading target is floored to whole radians (ops.floor(ops.mod(heading, 2 pi))) "
    "before it is split into bin and residual, so headings 1.1, 1.5 and 1.9 give the same "
    "loss: the model cannot learn a heading finer than 1 radian"
)


def boxes() -> dict[str, Any]:
    """Three boxes per image for four images ``(4, 3, 4)``, xyxy, and shifted predictions.

    Example:
        >>> data = boxes()
        >>> data["y_true"].shape, data["config"]
        ((4, 3, 4), {'bounding_box_format': 'xyxy'})
    """
    import numpy as np

    truth = np.array(
        [
            [[0, 0, 10, 10], [5, 5, 15, 20], [2, 8, 6, 12]],
            [[2, 2, 8, 8], [0, 0, 4, 4], [10, 10, 20, 14]],
            [[1, 1, 9, 5], [3, 0, 7, 10], [0, 5, 5, 10]],
            [[4, 4, 12, 12], [6, 0, 10, 3], [1, 2, 3, 9]],
        ],
        "float32",
    )
    shift = np.random.default_rng(0).uniform(-1.5, 1.5, truth.shape).astype("float32")
    return {"y_true": truth, "y_pred": truth + shift, "config": {"bounding_box_format": "xyxy"}}


def probabilities() -> dict[str, Any]:
    """Multi-label 0/1 targets and probabilities, shape (4, 3)."""
    import numpy as np

    y_true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], "float32")
    y_pred = np.random.default_rng(0).uniform(0.05, 0.95, (4, 3)).astype("float32")
    return {"y_true": y_true, "y_pred": y_pred}


def box_targets() -> dict[str, Any]:
    """Box regression targets and predictions ``(4, 4)``, errors on both sides of 1."""
    import numpy as np

    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(4, 4)).astype("float32")
    error = rng.normal(scale=1.2, size=(4, 4)).astype("float32")
    return {"y_true": y_true, "y_pred": y_true + error}


def heatmaps() -> dict[str, Any]:
    """CenterNet heatmaps ``(4, 3, 3, 2)``: Gaussian-like values with peaks of 1."""
    import numpy as np

    rng = np.random.default_rng(0)
    y_true = rng.uniform(0.0, 0.8, (4, 3, 3, 2)).astype("float32")
    y_true[:, 1, 1, 0] = 1.0
    y_true[::2, 0, 2, 1] = 1.0
    return {"y_true": y_true, "y_pred": rng.uniform(0.05, 0.95, y_true.shape).astype("float32")}


def projections() -> dict[str, Any]:
    """Two views' projections ``(4, 3)`` of four images; checked with ``temperature=0.5``."""
    import numpy as np

    rng = np.random.default_rng(0)
    first = rng.normal(size=(4, 3)).astype("float32")
    second = first + rng.normal(scale=0.5, size=(4, 3)).astype("float32")
    return {"y_true": first, "y_pred": second, "config": {"temperature": 0.5}}


def boxes_3d() -> dict[str, Any]:
    """3-D boxes ``(4, 3, 7)`` (x, y, z, dx, dy, dz, heading) and predictions ``(4, 3, 10)``.

    Checked with ``num_heading_bins=2, anchor_size=[1, 1, 1]``: a prediction is the
    centre (3), heading bin logits (2) and residuals (2), and the size (3).
    """
    import numpy as np

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 3, 3))
    sizes = rng.uniform(0.5, 2.0, (4, 3, 3))
    headings = rng.uniform(0.0, 6.28, (4, 3, 1))
    y_true = np.concatenate([centres, sizes, headings], axis=-1).astype("float32")
    y_pred = rng.normal(scale=0.5, size=(4, 3, 10)).astype("float32")
    config = {"num_heading_bins": 2, "anchor_size": [1.0, 1.0, 1.0]}
    return {"y_true": y_true, "y_pred": y_pred, "config": config}


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    """The eight losses of keras_cv.losses, each with its example and known defects."""
    for cls, name in (("IoULoss", "iou_loss"), ("GIoULoss", "giou_loss")):
        register(
            f"{LOSSES}:{cls}",
            name,
            example=boxes,
            tags=["bounding-box"],
            defects={"batched-diagonal": _DIAGONAL},
        )
    register(
        f"{LOSSES}:CIoULoss",
        "ciou_loss",
        example=boxes,
        tags=["bounding-box"],  # its get_config gap: kreg warns and repairs it itself
    )
    register(
        f"{LOSSES}:FocalLoss",
        "focal_loss",
        example=probabilities,
        tags=["detection"],
        defects={"label-smoothing-alpha": _SMOOTHING},
    )
    register(
        f"{LOSSES}:SmoothL1Loss",
        "smooth_l1_loss",
        aliases=["smooth_l1"],
        example=box_targets,
        tags=["bounding-box"],
        defects={"l1-cutoff-jump": _CUTOFF},
    )
    register(
        f"{LOSSES}:BinaryPenaltyReducedFocalCrossEntropy",
        "binary_penalty_reduced_focal_cross_entropy",
        aliases=["penalty_reduced_focal"],
        example=heatmaps,
        tags=["heatmap"],
        defects={"sample-weight-shape": _PER_ELEMENT},
    )
    register(
        f"{LOSSES}:SimCLRLoss",
        "simclr_loss",
        example=projections,
        tags=["batch-dependent", "contrastive"],
    )
    register(
        f"{LOSSES}:CenterNetBoxLoss",
        "centernet_box_loss",
        example=boxes_3d,
        tags=["bounding-box-3d"],
        defects={"heading-floored": _HEADING},
    )
