"""Errors a person can act on, and `acc`/`accuracy` keeping compile's shape-dependent meaning."""

from __future__ import annotations

import numpy as np
import pytest

import kreg


def test_unknown_name_is_a_key_error_with_ranked_suggestions():
    with pytest.raises(KeyError) as raised:
        kreg.get("Possion")
    assert isinstance(raised.value, kreg.UnknownComponentError)
    assert raised.value.suggestions[0] == "poisson"
    assert str(raised.value).startswith("No component named 'Possion'")


def test_unknown_name_in_kind_mentions_other_kind():
    with pytest.raises(
        kreg.UnknownComponentError, match="'binary_accuracy' is a metric, not a loss"
    ):
        kreg.get("binary_accuracy", kind="loss")


def test_ambiguous_names_the_kinds():
    with pytest.raises(kreg.AmbiguousComponentError) as raised:
        kreg.get("mse")
    assert raised.value.kinds == ["loss", "metric"]
    assert "kreg.get('mse', kind='metric')" in str(raised.value)


def test_bad_kind_lists_allowed_values():
    with pytest.raises(
        ValueError, match=r"Expected one of \['loss', 'metric', 'optimizer', 'schedule'\]"
    ):
        kreg.get("huber", kind="layer")


def test_unknown_keyword_suggests_the_right_one(keras):
    with pytest.raises(kreg.ConfigError) as raised:
        kreg.get("MeanSquaredError", kind="loss", resuction="sum_over_batch_size")
    error = raised.value
    assert (error.component, error.argument, error.suggestion) == (
        "mean_squared_error",
        "resuction",
        "reduction",
    )
    assert "Did you mean 'reduction'?" in str(error)
    assert isinstance(error, TypeError)


def test_seed_from_loits_typo(keras):
    with pytest.raises(kreg.ConfigError, match="Did you mean 'from_logits'"):
        kreg.get("binary_crossentropy", kind="loss", from_loits=False)


def test_missing_required_argument(keras):
    with pytest.raises(kreg.ConfigError) as raised:
        kreg.get("PrecisionAtRecall")
    assert raised.value.argument == "recall"
    assert "requires argument 'recall'" in str(raised.value)


def test_invalid_value_names_component_and_argument(keras):
    with pytest.raises(kreg.ConfigError) as raised:
        kreg.get("huber", reduction="bogus")
    assert raised.value.argument == "reduction"
    assert "loss 'huber'" in str(raised.value) and "Expected one of" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_optimizer_unknown_argument_through_kwargs(keras):
    with pytest.raises(kreg.ConfigError, match="Did you mean 'learning_rate'"):
        kreg.get("adam", learning_rte=0.1)


CASES = [
    # (y_true, y_pred, variant)
    (np.array([[1], [0], [1], [0]]), np.array([[0.9], [0.2], [0.3], [0.4]]), "binary"),
    (
        np.array([2, 0, 1, 1]),
        np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.3, 0.4, 0.3], [0.5, 0.3, 0.2]]),
        "sparse",
    ),
    (
        np.array([[2], [0], [1], [1]]),
        np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.3, 0.4, 0.3], [0.5, 0.3, 0.2]]),
        "sparse",
    ),
    (
        np.eye(3)[[2, 0, 1, 1]],
        np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.3, 0.4, 0.3], [0.5, 0.3, 0.2]]),
        "categorical",
    ),
]


@pytest.mark.parametrize(("y_true", "y_pred", "variant"), CASES)
@pytest.mark.parametrize("spelling", ["acc", "accuracy", "Accuracy"])
def test_accuracy_matches_keras_compile_accuracy(keras, spelling, y_true, y_pred, variant):
    ours = kreg.get(spelling, kind="metric")
    assert not isinstance(ours, keras.metrics.Accuracy)
    ours.update_state(y_true, y_pred)
    assert ours.variant == variant
    inputs = keras.Input(y_pred.shape[1:])
    model = keras.Model(inputs, inputs)
    model.compile(
        loss="mse" if variant != "sparse" else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    expected = model.evaluate(y_pred, y_true, verbose=0, return_dict=True)["accuracy"]
    assert float(ours.result()) == pytest.approx(expected)
    assert float(ours.result()) > 0.4, "probabilities are not compared for exact equality"


def test_exact_match_accuracy_is_still_reachable(keras):
    assert type(kreg.get("exact_accuracy")) is keras.metrics.Accuracy


def test_accuracy_trains_inside_compiled_fit(keras):
    x = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=[kreg.get("acc")])
    history = model.fit(x, y, epochs=1, verbose=0)
    assert 0.0 <= history.history["accuracy"][0] <= 1.0


def test_kreg_leaves_keras_automatic_metric_names_alone(keras):
    import subprocess
    import sys

    from tests.conftest import ROOT, subprocess_env

    code = "import kreg, keras; print(keras.metrics.AUC().name, kreg.get('auc').name)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["auc", "auc_1"], done.stderr[-2000:]


def test_plain_function_loss_comes_back_wrapped_with_per_sample_values(keras):
    from kreg.registry.entry import Entry

    def my_loss_fn(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    loss = Entry("my_loss_fn", "loss", my_loss_fn, "user").create({"reduction": "none"})
    assert isinstance(loss, keras.losses.Loss) and loss.name == "my_loss_fn"
    values = loss(np.zeros((3, 2)), np.ones((3, 2)))
    np.testing.assert_allclose(np.asarray(values), [1.0, 1.0, 1.0])
