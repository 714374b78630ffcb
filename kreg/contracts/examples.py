"""Sample data and constructor arguments that suit each component, for the behavioural checks.

A plugin passes ``example=`` to ``register``: a zero-argument callable that
returns ``(y_true, y_pred)``, an :class:`Example`, or a dict of its fields
(``{"config": {"num_classes": 3}}`` for a component with required
arguments). Built-in Keras components get theirs from :data:`BUILTIN`.
Nothing here imports NumPy until an example is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BATCH = 4


@dataclass
class Example:
    """What the behavioural checks feed a component.

    ``y_true``/``y_pred`` (batch on the leading axis; a dict or tuple of arrays
    works too) for losses and metrics; ``config`` holds constructor arguments the
    checks always pass (required ones, or a learning rate that suits an optimizer);
    ``sample_weight``, when given, is the weights the weight checks use (else the
    shape Keras would apply to what ``call()`` returns).

    Example:
        >>> example = Example(config={"num_classes": 3})
        >>> example.config
        {'num_classes': 3}
    """

    y_true: Any = None
    y_pred: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    sample_weight: Any = None


def _rng() -> Any:
    import numpy as np

    return np.random.default_rng(1234)


def _softmax(logits: Any) -> Any:
    import numpy as np

    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (exp / exp.sum(axis=-1, keepdims=True)).astype("float32")


def regression() -> tuple[Any, Any]:
    """Positive real targets and predictions, shape (4, 3)."""
    rng = _rng()
    return (
        rng.uniform(0.5, 2.0, (BATCH, 3)).astype("float32"),
        rng.uniform(0.3, 2.5, (BATCH, 3)).astype("float32"),
    )


def probability() -> tuple[Any, Any]:
    """0/1 targets and probabilities, shape (4, 3) (binary or multi-label)."""
    import numpy as np

    y_true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], "float32")
    return y_true, _rng().uniform(0.1, 0.9, (BATCH, 3)).astype("float32")


def binary() -> tuple[Any, Any]:
    """One 0/1 target and one probability per sample, shape (4, 1)."""
    import numpy as np

    y_true = np.array([[1], [0], [1], [0]], "float32")
    return y_true, _rng().uniform(0.1, 0.9, (BATCH, 1)).astype("float32")


def categorical() -> tuple[Any, Any]:
    """One-hot targets and rows of class probabilities, shape (4, 3)."""
    import numpy as np

    y_true = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
    return y_true, _softmax(_rng().normal(size=(BATCH, 3)))


def sparse() -> tuple[Any, Any]:
    """Integer class labels, shape (4,), and class probabilities, shape (4, 3)."""
    import numpy as np

    return np.array([0, 2, 1, 2], "int32"), _softmax(_rng().normal(size=(BATCH, 3)))


def class_ids() -> tuple[Any, Any]:
    """Integer labels and integer predictions, shape (4,)."""
    import numpy as np

    return np.array([0, 2, 1, 2], "int32"), np.array([0, 1, 1, 2], "int32")


def segmentation() -> tuple[Any, Any]:
    """Binary masks and per-pixel probabilities, shape (4, 3, 2)."""
    import numpy as np

    y_true = (np.arange(BATCH * 6).reshape(BATCH, 3, 2) % 3 == 0).astype("float32")
    return y_true, _rng().uniform(0.1, 0.9, (BATCH, 3, 2)).astype("float32")


def sequence() -> tuple[Any, Any]:
    """CTC: label sequences (4, 2) and per-timestep class probabilities (4, 6, 5)."""
    import numpy as np

    labels = np.array([[1, 2], [2, 1], [1, 1], [3, 2]], "int32")
    return labels, _softmax(_rng().normal(size=(BATCH, 6, 5)))


def embedding() -> tuple[Any, Any]:
    """Class labels (4,) and unit-length embeddings (4, 3), for metric-learning losses."""
    import numpy as np

    vectors = _rng().normal(size=(BATCH, 3)).astype("float32")
    return np.array([0, 1, 0, 1], "int32"), vectors / np.linalg.norm(vectors, axis=-1)[:, None]


DATA: dict[str, Callable[[], tuple[Any, Any]]] = {
    "regression": regression,
    "probability": probability,
    "binary": binary,
    "categorical": categorical,
    "sparse": sparse,
    "class_ids": class_ids,
    "segmentation": segmentation,
    "sequence": sequence,
    "embedding": embedding,
}
_LOSS_DATA = {
    "binary_crossentropy binary_focal_crossentropy hinge squared_hinge": "probability",
    "categorical_crossentropy categorical_focal_crossentropy categorical_hinge "
    "kl_divergence": "categorical",
    "sparse_categorical_crossentropy categorical_generalized_cross_entropy": "sparse",
    "dice tversky": "segmentation",
    "ctc": "sequence",
    "circle": "embedding",
}
_METRIC_DATA = {
    "binary_iou": "binary",
    "auc binary_accuracy binary_crossentropy false_negatives false_positives "
    "true_negatives true_positives hinge squared_hinge precision recall precision_at_recall "
    "recall_at_precision sensitivity_at_specificity specificity_at_sensitivity": "probability",
    "accuracy categorical_accuracy categorical_crossentropy categorical_hinge kl_divergence "
    "f1_score f_beta_score one_hot_iou one_hot_mean_iou top_k_categorical_accuracy": "categorical",
    "sparse_categorical_accuracy sparse_categorical_crossentropy "
    "sparse_top_k_categorical_accuracy": "sparse",
    "exact_accuracy iou mean_iou": "class_ids",
}
_CONFIG: dict[tuple[str, str], dict[str, Any]] = {
    ("metric", "iou"): {"num_classes": 3, "target_class_ids": [0, 1]},
    ("metric", "one_hot_iou"): {"num_classes": 3, "target_class_ids": [0, 1]},
    ("metric", "mean_iou"): {"num_classes": 3},
    ("metric", "one_hot_mean_iou"): {"num_classes": 3},
    ("metric", "precision_at_recall"): {"recall": 0.5},
    ("metric", "recall_at_precision"): {"precision": 0.5},
    ("metric", "sensitivity_at_specificity"): {"specificity": 0.5},
    ("metric", "specificity_at_sensitivity"): {"sensitivity": 0.5},
    ("metric", "top_k_categorical_accuracy"): {"k": 2},
    ("metric", "sparse_top_k_categorical_accuracy"): {"k": 2},
    # Adadelta's first steps are about sqrt(epsilon) long: with the default 1e-7 it needs
    # thousands of steps to move at all. 1.0 is the paper's learning rate.
    ("optimizer", "adadelta"): {"learning_rate": 1.0, "epsilon": 1e-3},
    ("schedule", "cosine_decay"): {"initial_learning_rate": 0.1, "decay_steps": 100},
    ("schedule", "cosine_decay_restarts"): {"initial_learning_rate": 0.1, "first_decay_steps": 20},
    ("schedule", "exponential_decay"): {
        "initial_learning_rate": 0.1,
        "decay_steps": 100,
        "decay_rate": 0.9,
    },
    ("schedule", "inverse_time_decay"): {
        "initial_learning_rate": 0.1,
        "decay_steps": 100,
        "decay_rate": 0.5,
    },
    ("schedule", "piecewise_constant_decay"): {
        "boundaries": [10, 100],
        "values": [0.1, 0.05, 0.01],
    },
    ("schedule", "polynomial_decay"): {"initial_learning_rate": 0.1, "decay_steps": 100},
}


def _data_name(kind: str, name: str) -> str:
    table = {"loss": _LOSS_DATA, "metric": _METRIC_DATA}.get(kind, {})
    for names, data in table.items():
        if name in names.split():
            return data
    return "regression"


@dataclass(frozen=True)
class BuiltinExample:
    """The example of one built-in Keras component (a picklable zero-argument callable).

    Example:
        >>> BuiltinExample("metric", "mean_iou")().config
        {'num_classes': 3}
    """

    kind: str
    name: str

    def __call__(self) -> Example:
        config = dict(_CONFIG.get((self.kind, self.name), {}))
        if self.kind in ("loss", "metric"):
            y_true, y_pred = DATA[_data_name(self.kind, self.name)]()
            return Example(y_true, y_pred, config)
        return Example(config=config)


def as_example(kind: str, made: Any) -> Example:
    """Normalise what an ``example`` callable returned into an :class:`Example`.

    Example:
        >>> as_example("loss", ([1.0], [0.5])).y_pred
        [0.5]
    """
    if made is None:
        made = Example()
    if isinstance(made, dict):
        made = Example(**made)
    elif isinstance(made, tuple) and len(made) == 2:
        made = Example(*made)
    if not isinstance(made, Example):
        raise TypeError(
            f"a {kind}'s example must return (y_true, y_pred), an Example or a dict with "
            f"y_true, y_pred and config. Received: {made!r}"
        )
    example: Example = made
    if kind in ("loss", "metric") and example.y_true is None:
        fallback = probability()
        example = Example(fallback[0], fallback[1], example.config, example.sample_weight)
    return example
