"""Losses that reproduce the survey's cases (each names the real library it stands for)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "realcases"


class PerItemLoss(keras.losses.Loss):
    """Squared error per list item: ``call()`` keeps every axis (as keras-rs pairwise losses)."""

    def __init__(self, name: str = "per_item_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return ops.square(y_true - y_pred)


class MaskedListLoss(keras.losses.Loss):
    """Masked squared error of a ranked list; ``y_true`` is ``{"labels", "mask"}`` (keras-rs)."""

    def __init__(self, name: str = "masked_list_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        mask = ops.cast(y_true["mask"], y_pred.dtype)
        errors = ops.square(ops.cast(y_true["labels"], y_pred.dtype) - y_pred) * mask
        return ops.sum(errors, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1.0)


class SimCLRLoss(keras.losses.Loss):
    """A contrastive loss: one value for the whole batch by design (tf-extra's contrastive)."""

    def __init__(self, temperature: float = 0.5, name: str = "simclr_loss", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.temperature = temperature

    def call(self, y_true: Any, y_pred: Any) -> Any:
        similarity = ops.matmul(y_pred, ops.transpose(y_pred)) / self.temperature
        labels = ops.cast(y_true, "int32")[:, 0]
        return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, similarity, True))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}


class SmoothDiceLoss(keras.losses.Loss):
    """Dice loss whose ``get_config`` forgets ``smooth`` (medicai): trains, saves wrongly."""

    def __init__(self, smooth: float = 1.0, name: str = "smooth_dice_loss", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.smooth = smooth

    def call(self, y_true: Any, y_pred: Any) -> Any:
        overlap = ops.sum(y_true * y_pred, axis=-1)
        total = ops.sum(y_true, axis=-1) + ops.sum(y_pred, axis=-1)
        return 1.0 - (2.0 * overlap + self.smooth) / (total + self.smooth)


class BoxLoss(keras.losses.Loss):
    """Box regression loss whose required ``bounding_box_format`` is not in ``get_config``.

    As keras-cv's ``CIoULoss``: a saved model cannot be loaded.
    """

    def __init__(self, bounding_box_format: str, name: str = "box_loss", **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if bounding_box_format not in ("xyxy", "xywh"):
            raise ValueError(f"unknown bounding_box_format {bounding_box_format!r}")
        self.bounding_box_format = bounding_box_format

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self.bounding_box_format == "xywh":
            y_true, y_pred = _corners(y_true), _corners(y_pred)
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)


class OwnConfigBoxLoss(keras.losses.Loss):
    """Exactly keras-cv's ``CIoULoss``: its own ``get_config`` forgets the required format.

    The structural check cannot see that (the method is the class's own); kreg finds it
    when the class is first used, and its behavioural config checks fail it.
    """

    def __init__(
        self, bounding_box_format: str, eps: float = 1e-7, name: str = "box_loss", **kwargs: Any
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.bounding_box_format = bounding_box_format
        self.eps = eps

    def call(self, y_true: Any, y_pred: Any) -> Any:
        if self.bounding_box_format == "xywh":
            y_true, y_pred = _corners(y_true), _corners(y_pred)
        return ops.mean(ops.abs(y_true - y_pred), axis=-1) + self.eps

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "eps": self.eps}


def _corners(boxes: Any) -> Any:
    x, y, w, h = (boxes[..., i] for i in range(4))
    return ops.stack([x, y, x + w, y + h], axis=-1)


class RougeLoss(keras.losses.Loss):
    """Needs an optional dependency its package does not install (keras-hub ``RougeL``)."""

    def __init__(self, name: str = "rouge_loss", **kwargs: Any) -> None:
        import kreg_absent_optional_dependency  # noqa: F401  (never installed)

        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE, name="Collision")
class FirstCollidingLoss(keras.losses.Loss):
    """Registered with Keras under the name of another class below (kgcnn's collision)."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE, name="Collision")
class SecondCollidingLoss(keras.losses.Loss):
    """The class Keras's registry keeps under ``realcases>Collision``."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return 10.0 * ops.mean(ops.square(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="RealCases.Losses")
class OwnNameLoss(keras.losses.Loss):
    """Registered with Keras under its library's own name, as kerex registers its optimizers
    (``Kerex.Optimizers>AdamW``): only importing the library makes that name known."""

    def __init__(self, name: str = "own_name_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)


class DiceLoss:
    """A plain callable class, not a ``keras.losses.Loss`` (segmentation-models style)."""

    __name__ = "dice_loss"

    def __init__(self, smooth: float = 1.0) -> None:
        self.smooth = smooth

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        overlap = ops.sum(y_true * y_pred)
        return 1.0 - (2.0 * overlap + self.smooth) / (
            ops.sum(y_true) + ops.sum(y_pred) + self.smooth
        )


def iou_score(y_true: Any, y_pred: Any) -> Any:
    """Intersection over union of soft masks, one value per sample (a plain function)."""
    overlap = ops.sum(y_true * y_pred, axis=-1)
    union = ops.sum(y_true + y_pred, axis=-1) - overlap
    return (overlap + 1.0) / (union + 1.0)
