"""The mistake corpus: each classic compile mistake is found, with its fix in the text (issue 15).

Each case is a real Keras model with real targets; ``kreg.preflight`` only inspects them.
The issue's seven measured mistakes come first.
"""

from __future__ import annotations

import numpy as np
import pytest

import kreg
from tests.preflight_cases import (
    BINARY,
    COUNTS,
    IDS3,
    IDS5,
    ONE_HOT3,
    REAL,
    REAL50,
    Case,
    dataset,
    mlp,
    stack,
    two_heads,
)


def _losses():
    import keras

    return keras.losses


def _layers():
    import keras

    return keras.layers


MISTAKES = [
    # The table, in its order.
    Case(
        "softmax output + sparse_categorical_crossentropy(from_logits=True)",
        lambda: mlp(3, "softmax"),
        lambda: {
            "loss": _losses().SparseCategoricalCrossentropy(from_logits=True),
            "metrics": ["accuracy"],
            "y": IDS3,
        },
        expected=("logits-on-probabilities", "error", "from_logits=False"),
    ),
    Case(
        "integer labels + categorical_crossentropy",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "y": IDS3},
        expected=("ids-with-categorical", "error", "loss = sparse_categorical_crossentropy"),
    ),
    Case(
        "one-hot labels + sparse_categorical_crossentropy",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "y": ONE_HOT3},
        expected=("one-hot-with-sparse", "error", "loss = categorical_crossentropy"),
    ),
    Case(
        "binary labels + Dense(1, activation='softmax')",
        lambda: mlp(1, "softmax"),
        lambda: {"loss": "binary_crossentropy", "metrics": ["accuracy"], "y": BINARY},
        expected=("softmax-one-unit", "error", 'Dense(1, activation="sigmoid")'),
    ),
    Case(
        "regression targets (~50) + metrics=[acc]",
        lambda: mlp(1),
        lambda: {"loss": "mse", "metrics": ["acc"], "y": REAL50},
        expected=("accuracy-on-regression", "warning", "mean_absolute_error"),
    ),
    Case(
        "regression targets (~50) + sigmoid output + mse",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "mse", "y": REAL50},
        expected=("targets-out-of-range", "error", "no activation on the last layer"),
    ),
    Case(
        "linear output + binary_crossentropy (from_logits left False)",
        lambda: mlp(1),
        lambda: {"loss": "binary_crossentropy", "y": BINARY},
        expected=("probabilities-on-unbounded", "error", "binary_crossentropy(from_logits=True)"),
    ),
    # The seed document's own loss example (../shared/seed, "compile() & fit()").
    Case(
        "seed: Dense(64) + Activation('softmax') + SparseCategoricalCrossentropy(from_logits=True)",
        stack(lambda: _layers().Dense(64), lambda: _layers().Activation("softmax"), inputs=(10,)),
        lambda: {
            "loss": _losses().SparseCategoricalCrossentropy(from_logits=True),
            "metrics": ["acc"],
            "y": IDS5,
        },
        expected=("logits-on-probabilities", "error", "from_logits=False"),
    ),
    # The list of mistakes it must catch.
    Case(
        "sigmoid output + BinaryCrossentropy(from_logits=True)",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": _losses().BinaryCrossentropy(from_logits=True), "y": BINARY},
        expected=("logits-on-probabilities", "error", "binary_crossentropy(from_logits=False)"),
    ),
    Case(
        "a separate Softmax layer after Dropout + from_logits=True",
        stack(
            lambda: _layers().Dense(3),
            lambda: _layers().Softmax(),
            lambda: _layers().Dropout(0.1),
        ),
        lambda: {"loss": _losses().CategoricalCrossentropy(from_logits=True), "y": ONE_HOT3},
        expected=("logits-on-probabilities", "error", "from_logits=False"),
    ),
    Case(
        "linear output + AUC (probabilities expected by a metric)",
        lambda: mlp(1),
        lambda: {
            "loss": _losses().BinaryCrossentropy(from_logits=True),
            "metrics": ["auc"],
            "y": BINARY,
        },
        expected=("probabilities-on-unbounded", "warning", "auc(from_logits=True)"),
    ),
    Case(
        "integer labels of shape (n, 1) + categorical_crossentropy (broadcast silently)",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "categorical_crossentropy", "y": IDS3.reshape(-1, 1)},
        expected=("ids-with-categorical", "error", "keras.utils.to_categorical(y, 3)"),
    ),
    Case(
        "fewer output units than classes in y",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "y": IDS5},
        expected=("too-few-units", "error", "Dense(5, ...)"),
    ),
    Case(
        "categorical_crossentropy after a sigmoid",
        lambda: mlp(3, "sigmoid"),
        lambda: {"loss": "categorical_crossentropy", "y": ONE_HOT3},
        expected=("categorical-after-sigmoid", "warning", 'activation="softmax"'),
    ),
    Case(
        "3 class ids into one sigmoid unit with binary_crossentropy",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "binary_crossentropy", "y": IDS3},
        expected=("multiclass-into-binary", "error", 'Dense(3, activation="softmax")'),
    ),
    Case(
        "-1/+1 labels with binary_crossentropy",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "binary_crossentropy", "y": BINARY * 2 - 1},
        expected=("signed-labels", "error", "y = (y + 1) / 2"),
    ),
    Case(
        "tanh output + mse on targets in [0, 5]",
        lambda: mlp(1, "tanh"),
        lambda: {"loss": "mse", "y": IDS5.astype("float32") + 0.5},
        expected=("targets-out-of-range", "error", "scale y into [-1, 1]"),
    ),
    Case(
        "relu output + mae on negative targets",
        lambda: mlp(1, "relu"),
        lambda: {"loss": "mae", "y": REAL},
        expected=("targets-out-of-range", "error", "linear"),
    ),
    Case(
        "accuracy on integer regression targets (ages) with mse",
        lambda: mlp(1),
        lambda: {"loss": "mse", "metrics": ["accuracy"], "y": np.round(REAL50)},
        expected=("accuracy-on-regression", "warning", "mean_absolute_error"),
    ),
    Case(
        "poisson on a linear output",
        lambda: mlp(1),
        lambda: {"loss": "poisson", "y": COUNTS},
        expected=("negative-predictions", "error", 'activation="softplus"'),
    ),
    Case(
        "mean_squared_logarithmic_error on a tanh output",
        lambda: mlp(1, "tanh"),
        lambda: {"loss": "msle", "y": COUNTS / 10},
        expected=("negative-predictions", "error", "softplus"),
    ),
    Case(
        "(n,) targets against a (n, 3) output with mse",
        lambda: mlp(3),
        lambda: {"loss": "mse", "y": REAL},
        expected=("broadcast-targets", "error", "Dense(1) as the last layer"),
    ),
    Case(
        "class_weight keys 1..3 for class ids 0..2",
        lambda: mlp(3, "softmax"),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "y": IDS3,
            "class_weight": {1: 1.0, 2: 2.0, 3: 1.0},
        },
        expected=("class-weight-keys", "error", "class_weight = {0: ..., 1: ..., 2: ...}"),
    ),
    Case(
        "class_weight with string keys on binary labels",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "binary_crossentropy", "y": BINARY, "class_weight": {"0": 1, "1": 5}},
        expected=("class-weight-keys", "error", "class_weight = {0: ..., 1: ...}"),
    ),
    Case(
        "poisson with negative targets",
        lambda: mlp(1, "softplus"),
        lambda: {"loss": "poisson", "y": REAL},
        expected=("negative-targets", "error", "mean_squared_error"),
    ),
    Case(
        "tf.data: integer labels + categorical_crossentropy (read from the first batch)",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "categorical_crossentropy", "x": dataset(IDS3)},
        expected=("ids-with-categorical", "error", "sparse_categorical_crossentropy"),
    ),
    Case(
        "multi-output dict: integer labels + categorical_crossentropy on one head",
        two_heads,
        lambda: {
            "loss": {"kind": "categorical_crossentropy", "value": "mse"},
            "y": {"kind": IDS3, "value": REAL},
        },
        expected=("ids-with-categorical", "error", "sparse_categorical_crossentropy"),
        where="kind",
    ),
    Case(
        "multi-output list: sigmoid on the regression head",
        lambda: two_heads(value_activation="sigmoid"),
        lambda: {
            "loss": ["sparse_categorical_crossentropy", "mse"],
            "y": [IDS3, REAL50],
        },
        expected=("targets-out-of-range", "error", "linear"),
        where="value",
    ),
    Case(
        "validation_data with class ids the output has no unit for",
        lambda: mlp(3, "softmax"),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "y": IDS3,
            "validation_data": (None, IDS5),
        },
        expected=("too-few-units", "error", "Dense(5, ...)"),
    ),
]


@pytest.mark.parametrize("case", MISTAKES, ids=str)
def test_each_mistake_is_found_with_its_fix(keras, case):
    report = kreg.preflight(case.model(), **case.kwargs())
    code, severity, fix = case.expected
    found = [f for f in report if f.code == code]
    assert found, f"{case.name}: expected {code}, got:\n{report}"
    assert found[0].severity == severity, report
    assert fix in found[0].fix, f"{fix!r} not in {found[0].fix!r}"
    assert fix in str(report)  # the text repr carries the fix
    if case.where is not None:
        assert found[0].where == case.where
    if severity == "warning":
        assert report.ok, report  # a warning alone never stops training


def test_the_report_has_a_text_and_an_html_view(keras):
    report = kreg.preflight(mlp(3, "softmax"), loss="categorical_crossentropy", y=IDS3)
    assert repr(report).startswith("preflight: 1 error, 0 warnings")
    page = report._repr_html_()
    assert "ids-with-categorical" in page and "<table>" in page
    assert "sparse_categorical_crossentropy" in page


def test_preflight_reads_a_bounded_sample_and_never_iterates_a_dataset_further(keras):
    import tensorflow as tf

    pulled = []

    def labels():
        for i in range(10_000):
            pulled.append(i)
            yield np.zeros(8, "float32"), np.int64(i % 3)

    data = tf.data.Dataset.from_generator(
        labels,
        output_signature=(
            tf.TensorSpec((8,), tf.float32),
            tf.TensorSpec((), tf.int64),
        ),
    ).batch(16)
    report = kreg.preflight(mlp(3, "softmax"), loss="categorical_crossentropy", x=data)
    assert [f.code for f in report.errors] == ["ids-with-categorical"]
    assert len(pulled) <= 64  # the first batch (tf.data may prefetch a little), not 10,000


def test_an_undeclared_component_gets_no_findings(keras):
    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2

    report = kreg.preflight(mlp(3, "softmax"), loss=my_loss, y=IDS3)
    assert list(report) == []


def test_a_subclassed_model_gets_an_info_not_a_guess(keras):
    import keras as k

    class Net(k.Model):
        def __init__(self):
            super().__init__()
            self.head = k.layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.head(x)

    report = kreg.preflight(Net(), loss="categorical_crossentropy", y=IDS3)
    assert report.ok and [f.code for f in report] == ["outputs-unknown"]


@pytest.mark.parametrize(
    ("loss", "y", "code", "fix"),
    [
        ("sparse_categorical_crossentropy", IDS5, "too-few-units", "Dense(5, ...)"),
        ("sparse_categorical_crossentropy", ONE_HOT3, "one-hot-with-sparse", "argmax"),
        ("categorical_crossentropy", IDS3, "rank-mismatch", "sparse_categorical_crossentropy"),
    ],
)
def test_real_keras_first_step_errors_are_translated(keras, loss, y, code, fix):
    """What Keras raises in fit when preflight is skipped, read back as a finding."""
    from kreg.preflight_checks.translate import translate
    from tests.preflight_cases import X

    model = mlp(3, "softmax")
    model.compile(loss=loss, optimizer="sgd")
    with pytest.raises(Exception) as raised:
        model.fit(X[:64], y[:64], epochs=1, verbose=0)
    finding = translate(raised.value)
    assert finding is not None, str(raised.value)[:300]
    assert finding.code == code and fix in finding.fix
