"""The correct corpus: configurations that are right get no error and no warning (issue 15).

They come from keras.io examples (read with the search tools; each names its file in
keras-team/keras-io and keeps its final layers, compile arguments and target format,
with the data shrunk to a few hundred rows), from kreg's own notebooks, and from the
forms the issue lists: dict outputs, ``tf.data``, labels of shape ``(n, 1)``, logits with
``from_logits=True``, hinge with -1/+1, softplus + poisson, a separate Softmax layer.
"""

from __future__ import annotations

import numpy as np
import pytest

import kreg
from tests.preflight_cases import (
    BINARY,
    COUNTS,
    IDS3,
    ONE_HOT3,
    REAL,
    REAL50,
    RNG,
    Case,
    N,
    X,
    dataset,
    mlp,
    stack,
    two_heads,
)
from tests.preflight_keras_io import KERAS_IO


def _k():
    import keras

    return keras


MULTI_HOT5 = (RNG.random((N, 5)) < 0.3).astype("float32")
PIXELS = RNG.random((N, 8)).astype("float32")  # an autoencoder's targets: x itself, in [0, 1]
DISTRIBUTIONS = RNG.dirichlet(np.ones(3), N).astype("float32")

NOTEBOOKS = [
    Case(
        "quickstart: regression with huber, mae and rmse",
        lambda: mlp(1, inputs=3),
        lambda: {
            "loss": kreg.get("huber", delta=1.5),
            "metrics": ["mae", "rmse"],
            "y": (X[:, :3] @ np.array([[2.0], [-1.0], [0.5]])).astype("float32"),
        },
        source="notebooks/quickstart.ipynb",
    ),
    Case(
        "quickstart: classifier with sparse_categorical_crossentropy and cohen_kappa",
        lambda: mlp(3, "softmax", inputs=4, hidden=32),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy", kreg.get("cohen_kappa", num_classes=3)],
            "y": IDS3.astype("int32"),
        },
        source="notebooks/quickstart.ipynb",
    ),
    Case(
        "widgets: regression with the widget's defaults",
        lambda: mlp(1, inputs=3),
        lambda: {"loss": "mse", "y": REAL.reshape(-1, 1)},
        source="notebooks/widgets.ipynb",
    ),
    Case(
        "writing-a-plugin: a plugin's undeclared loss on a linear output",
        lambda: mlp(1, inputs=2),
        lambda: {"loss": lambda y_true, y_pred: (y_true - y_pred) ** 2, "y": REAL},
        source="notebooks/writing-a-plugin.ipynb",
    ),
]

FORMS = [
    Case(
        "integer labels shaped (n, 1) + sparse_categorical_crossentropy",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "metrics": ["acc"], "y": IDS3[:, None]},
    ),
    Case(
        "integral float labels + sparse_categorical_crossentropy",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "y": IDS3.astype("float32")},
    ),
    Case(
        "logits + SparseCategoricalCrossentropy(from_logits=True)",
        lambda: mlp(3),
        lambda: {
            "loss": _k().losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": ["sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"],
            "y": IDS3,
        },
    ),
    Case(
        "logits + BinaryCrossentropy(from_logits=True) + BinaryAccuracy(threshold=0)",
        lambda: mlp(1),
        lambda: {
            "loss": _k().losses.BinaryCrossentropy(from_logits=True),
            "metrics": [
                _k().metrics.BinaryAccuracy(threshold=0.0),
                _k().metrics.AUC(from_logits=True),
            ],
            "y": BINARY,
        },
    ),
    Case(
        "hinge with -1/+1 labels on a tanh output",
        lambda: mlp(1, "tanh"),
        lambda: {"loss": "hinge", "y": BINARY * 2 - 1},
    ),
    Case(
        "squared_hinge with 0/1 labels (Keras converts them) on a linear output",
        lambda: mlp(1),
        lambda: {"loss": "squared_hinge", "y": BINARY},
    ),
    Case(
        "softplus + poisson on counts",
        lambda: mlp(1, "softplus"),
        lambda: {"loss": "poisson", "metrics": ["mae"], "y": COUNTS},
    ),
    Case(
        "exponential + poisson on counts",
        lambda: mlp(1, "exponential"),
        lambda: {"loss": _k().losses.Poisson(), "y": COUNTS},
    ),
    Case(
        "relu + mean_squared_logarithmic_error on counts",
        lambda: mlp(1, "relu"),
        lambda: {"loss": "msle", "y": COUNTS},
    ),
    Case(
        "a separate Softmax layer + categorical_crossentropy on one-hot rows",
        stack(lambda: _k().layers.Dense(3), lambda: _k().layers.Softmax()),
        lambda: {
            "loss": "categorical_crossentropy",
            "metrics": ["categorical_accuracy", "top_k_categorical_accuracy"],
            "y": ONE_HOT3,
        },
    ),
    Case(
        "a separate Activation('sigmoid') + binary_crossentropy",
        stack(lambda: _k().layers.Dense(1), lambda: _k().layers.Activation("sigmoid")),
        lambda: {"loss": "binary_crossentropy", "metrics": ["accuracy"], "y": BINARY},
    ),
    Case(
        "CategoricalCrossentropy(label_smoothing=0.1) on one-hot rows",
        lambda: mlp(3, "softmax"),
        lambda: {
            "loss": _k().losses.CategoricalCrossentropy(label_smoothing=0.1),
            "y": ONE_HOT3,
        },
    ),
    Case(
        "binary labels as 2 softmax units + sparse_categorical_crossentropy",
        lambda: mlp(2, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "metrics": ["acc"], "y": BINARY},
    ),
    Case(
        "multi-label: sigmoid units + binary_crossentropy + AUC(multi_label=True)",
        lambda: mlp(5, "sigmoid"),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": [_k().metrics.AUC(multi_label=True), "binary_accuracy"],
            "y": MULTI_HOT5,
        },
    ),
    Case(
        "autoencoder: sigmoid output + binary_crossentropy on pixels in [0, 1]",
        lambda: mlp(8, "sigmoid"),
        lambda: {"loss": "binary_crossentropy", "y": PIXELS},
    ),
    Case(
        "autoencoder: sigmoid output + mse on pixels in [0, 1]",
        lambda: mlp(8, "sigmoid"),
        lambda: {"loss": "mse", "y": PIXELS},
    ),
    Case(
        "tanh output + mse on targets in [-1, 1]",
        lambda: mlp(1, "tanh"),
        lambda: {"loss": "mse", "y": np.tanh(REAL)},
    ),
    Case(
        "kl_divergence: softmax output against distributions",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "kld", "y": DISTRIBUTIONS},
    ),
    Case(
        "categorical_hinge on one-hot rows with a linear output",
        lambda: mlp(3),
        lambda: {"loss": "categorical_hinge", "y": ONE_HOT3},
    ),
    Case(
        "cosine_similarity between 8-d embeddings",
        lambda: mlp(8),
        lambda: {"loss": "cosine_similarity", "y": RNG.normal(size=(N, 8)).astype("float32")},
    ),
    Case(
        "regression targets around 50 with a linear output, huber and r2_score",
        lambda: mlp(1),
        lambda: {"loss": "huber", "metrics": ["mae", "r2_score"], "y": REAL50},
    ),
    Case(
        "class_weight over every class of 3",
        lambda: mlp(3, "softmax"),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "y": IDS3,
            "class_weight": {0: 1.0, 1: 2.0, 2: 0.5},
        },
    ),
    Case(
        "sample_weight and validation_data, binary",
        lambda: mlp(1, "sigmoid"),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": ["precision", "recall", "auc"],
            "y": BINARY,
            "sample_weight": np.ones(N),
            "validation_data": (X[:64], BINARY[:64]),
        },
    ),
    Case(
        "tf.data of (x, integer ids) + sparse_categorical_crossentropy",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "x": dataset(IDS3)},
    ),
    Case(
        "tf.data of (x, one-hot rows) + categorical_crossentropy",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "categorical_crossentropy", "metrics": ["acc"], "x": dataset(ONE_HOT3)},
    ),
    Case(
        "multi-output dict: softmax ids head + linear regression head, metrics per output",
        two_heads,
        lambda: {
            "loss": {"kind": "sparse_categorical_crossentropy", "value": "mse"},
            "metrics": {"kind": ["accuracy"], "value": ["mae"]},
            "y": {"kind": IDS3, "value": REAL50},
        },
    ),
    Case(
        "multi-output lists: losses and targets in output order",
        two_heads,
        lambda: {
            "loss": ["sparse_categorical_crossentropy", "huber"],
            "metrics": [["accuracy"], ["mae"]],
            "y": [IDS3, REAL],
        },
    ),
    Case(
        "binary_focal_crossentropy on a sigmoid output",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "binary_focal_crossentropy", "y": BINARY},
    ),
    Case(
        "dice on per-pixel sigmoid masks",
        lambda: mlp(8, "sigmoid"),
        lambda: {"loss": kreg.get("dice"), "y": (PIXELS > 0.5).astype("float32")},
    ),
    Case(
        "kreg-contrib: quantile regression",
        lambda: mlp(1),
        lambda: {"loss": kreg.get("quantile"), "metrics": ["mae"], "y": REAL50},
    ),
    Case(
        "kreg-contrib: matthews_correlation and focal_tversky on a sigmoid",
        lambda: mlp(1, "sigmoid"),
        lambda: {
            "loss": kreg.get("focal_tversky"),
            "metrics": [kreg.get("matthews_correlation")],
            "y": BINARY,
        },
    ),
    Case(
        "a Sequential without an Input (not built yet)",
        lambda: _k().Sequential([_k().layers.Dense(16), _k().layers.Dense(3, "softmax")]),
        lambda: {"loss": "sparse_categorical_crossentropy", "y": IDS3},
    ),
]

CORRECT = [*KERAS_IO, *NOTEBOOKS, *FORMS]


def test_the_corpus_is_big_enough_and_names_its_keras_io_sources():
    assert len(CORRECT) >= 40
    assert len(KERAS_IO) >= 10
    assert all(case.source.startswith("keras-io examples/") for case in KERAS_IO)


@pytest.mark.parametrize("case", CORRECT, ids=str)
def test_a_correct_configuration_gets_no_error_and_no_warning(keras, case):
    kwargs = case.kwargs()
    report = kreg.preflight(case.model(), **kwargs)
    assert not report.errors and not report.warnings, f"{case.source} {case.name}:\n{report}"
    if report.inspected:  # not vacuous: the targets and the declared loss were read
        read = "\n".join(report.inspected)
        assert "y not read" not in read, read
        if type(kwargs["loss"]).__name__ != "function":
            assert " loss " in f" {read}", read
