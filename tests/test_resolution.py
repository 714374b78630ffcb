"""Every name in the seed document resolves to the right Keras 3 class (table-driven)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kreg

# (spelling from ../shared/seed, kind, expected Keras class in keras.<module>)
SEED_NAMES = [
    # losses, regression
    ("mean_squared_error", "loss", "losses.MeanSquaredError"),
    ("mean_absolute_error", "loss", "losses.MeanAbsoluteError"),
    ("mean_absolute_percentage_error", "loss", "losses.MeanAbsolutePercentageError"),
    ("mean_squared_logarithmic_error", "loss", "losses.MeanSquaredLogarithmicError"),
    ("squared_hinge", "loss", "losses.SquaredHinge"),
    ("hinge", "loss", "losses.Hinge"),
    ("categorical_hinge", "loss", "losses.CategoricalHinge"),
    ("mse", "loss", "losses.MeanSquaredError"),
    ("MSE", "loss", "losses.MeanSquaredError"),
    ("mae", "loss", "losses.MeanAbsoluteError"),
    ("MAE", "loss", "losses.MeanAbsoluteError"),
    ("mape", "loss", "losses.MeanAbsolutePercentageError"),
    ("MAPE", "loss", "losses.MeanAbsolutePercentageError"),
    ("msle", "loss", "losses.MeanSquaredLogarithmicError"),
    # losses, classification
    ("categorical_crossentropy", "loss", "losses.CategoricalCrossentropy"),
    ("sparse_categorical_crossentropy", "loss", "losses.SparseCategoricalCrossentropy"),
    ("binary_crossentropy", "loss", "losses.BinaryCrossentropy"),
    ("poisson", "loss", "losses.Poisson"),
    ("kld", "loss", "losses.KLDivergence"),
    ("KLD", "loss", "losses.KLDivergence"),
    ("BinaryCrossentropy", "loss", "losses.BinaryCrossentropy"),
    ("CategoricalCrossentropy", "loss", "losses.CategoricalCrossentropy"),
    ("SparseCategoricalCrossentropy", "loss", "losses.SparseCategoricalCrossentropy"),
    ("KLDivergence", "loss", "losses.KLDivergence"),
    ("kl_divergence", "loss", "losses.KLDivergence"),
    ("MeanSquaredError", "loss", "losses.MeanSquaredError"),
    ("MeanAbsoluteError", "loss", "losses.MeanAbsoluteError"),
    ("MeanAbsolutePercentageError", "loss", "losses.MeanAbsolutePercentageError"),
    ("MeanSquaredLogarithmicError", "loss", "losses.MeanSquaredLogarithmicError"),
    ("CosineSimilarity", "loss", "losses.CosineSimilarity"),
    ("cosine_similarity", "loss", "losses.CosineSimilarity"),
    ("Huber", "loss", "losses.Huber"),
    ("huber", "loss", "losses.Huber"),
    ("LogCosh", "loss", "losses.LogCosh"),
    ("log_cosh", "loss", "losses.LogCosh"),
    ("Hinge", "loss", "losses.Hinge"),
    ("SquaredHinge", "loss", "losses.SquaredHinge"),
    ("CategoricalHinge", "loss", "losses.CategoricalHinge"),
    # metrics
    ("binary_accuracy", "metric", "metrics.BinaryAccuracy"),
    ("categorical_accuracy", "metric", "metrics.CategoricalAccuracy"),
    ("sparse_categorical_accuracy", "metric", "metrics.SparseCategoricalAccuracy"),
    ("top_k_categorical_accuracy", "metric", "metrics.TopKCategoricalAccuracy"),
    ("sparse_top_k_categorical_accuracy", "metric", "metrics.SparseTopKCategoricalAccuracy"),
    ("mae", "metric", "metrics.MeanAbsoluteError"),
    ("mean_squared_error", "metric", "metrics.MeanSquaredError"),
    ("mean_absolute_error", "metric", "metrics.MeanAbsoluteError"),
    ("mean_absolute_percentage_error", "metric", "metrics.MeanAbsolutePercentageError"),
    ("mean_squared_logarithmic_error", "metric", "metrics.MeanSquaredLogarithmicError"),
    ("squared_hinge", "metric", "metrics.SquaredHinge"),
    ("hinge", "metric", "metrics.Hinge"),
    ("categorical_hinge", "metric", "metrics.CategoricalHinge"),
    ("categorical_crossentropy", "metric", "metrics.CategoricalCrossentropy"),
    ("sparse_categorical_crossentropy", "metric", "metrics.SparseCategoricalCrossentropy"),
    ("binary_crossentropy", "metric", "metrics.BinaryCrossentropy"),
    ("poisson", "metric", "metrics.Poisson"),
    ("BinaryAccuracy", "metric", "metrics.BinaryAccuracy"),
    ("CategoricalAccuracy", "metric", "metrics.CategoricalAccuracy"),
    ("TopKCategoricalAccuracy", "metric", "metrics.TopKCategoricalAccuracy"),
    ("SparseTopKCategoricalAccuracy", "metric", "metrics.SparseTopKCategoricalAccuracy"),
    ("BinaryCrossentropy", "metric", "metrics.BinaryCrossentropy"),
    ("CategoricalCrossentropy", "metric", "metrics.CategoricalCrossentropy"),
    ("SparseCategoricalCrossentropy", "metric", "metrics.SparseCategoricalCrossentropy"),
    ("KLDivergence", "metric", "metrics.KLDivergence"),
    ("Poisson", "metric", "metrics.Poisson"),
    ("MeanSquaredError", "metric", "metrics.MeanSquaredError"),
    ("RootMeanSquaredError", "metric", "metrics.RootMeanSquaredError"),
    ("MeanAbsoluteError", "metric", "metrics.MeanAbsoluteError"),
    ("MeanAbsolutePercentageError", "metric", "metrics.MeanAbsolutePercentageError"),
    ("CosineSimilarity", "metric", "metrics.CosineSimilarity"),
    ("LogCoshError", "metric", "metrics.LogCoshError"),
    ("AUC", "metric", "metrics.AUC"),
    ("Precision", "metric", "metrics.Precision"),
    ("Recall", "metric", "metrics.Recall"),
    ("TrueNegatives", "metric", "metrics.TrueNegatives"),
    ("FalsePositives", "metric", "metrics.FalsePositives"),
    ("FalseNegatives", "metric", "metrics.FalseNegatives"),
    ("SensitivityAtSpecificity", "metric", "metrics.SensitivityAtSpecificity"),
    ("SpecificityAtSensitivity", "metric", "metrics.SpecificityAtSensitivity"),
    ("MeanIoU", "metric", "metrics.MeanIoU"),
    ("Hinge", "metric", "metrics.Hinge"),
    ("SquaredHinge", "metric", "metrics.SquaredHinge"),
    ("CategoricalHinge", "metric", "metrics.CategoricalHinge"),
    # optimizers
    *[
        (n, "optimizer", f"optimizers.{c}")
        for n, c in [
            ("SGD", "SGD"),
            ("RMSprop", "RMSprop"),
            ("Adagrad", "Adagrad"),
            ("Adadelta", "Adadelta"),
            ("Adam", "Adam"),
            ("Adamax", "Adamax"),
            ("Nadam", "Nadam"),
            ("sgd", "SGD"),
            ("rmsprop", "RMSprop"),
            ("adagrad", "Adagrad"),
            ("adadelta", "Adadelta"),
            ("adam", "Adam"),
            ("adamax", "Adamax"),
            ("nadam", "Nadam"),
        ]
    ],
    # schedules
    ("ExponentialDecay", "schedule", "optimizers.schedules.ExponentialDecay"),
    ("PiecewiseConstantDecay", "schedule", "optimizers.schedules.PiecewiseConstantDecay"),
    ("PolynomialDecay", "schedule", "optimizers.schedules.PolynomialDecay"),
    ("InverseTimeDecay", "schedule", "optimizers.schedules.InverseTimeDecay"),
]
# Constructor arguments needed by classes that have required ones.
REQUIRED = {
    "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5},
    "MeanIoU": {"num_classes": 2},
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9},
    "PiecewiseConstantDecay": {"boundaries": [10], "values": [0.1, 0.01]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
}
# Keras 2 spellings in the seed: (spelling, kind, class, canonical name named by the warning)
SEED_LEGACY = [
    ("logcosh", "loss", "losses.LogCosh", "log_cosh"),
    ("cosine", "loss", "losses.CosineSimilarity", "cosine_similarity"),
    ("cosine_proximity", "loss", "losses.CosineSimilarity", "cosine_similarity"),
    ("kullback_leibler_divergence", "loss", "losses.KLDivergence", "kl_divergence"),
    ("logcosh", "metric", "metrics.LogCoshError", "log_cosh_error"),
    ("cosine_proximity", "metric", "metrics.CosineSimilarity", "cosine_similarity"),
    ("kullback_leibler_divergence", "metric", "metrics.KLDivergence", "kl_divergence"),
    ("rmse", "metric", "metrics.RootMeanSquaredError", "root_mean_squared_error"),
]
# Typos in the seed itself: the first suggestion is the right name.
SEED_TYPOS = [
    ("Possion", None, "poisson"),
    ("possion", "loss", "poisson"),
    ("TurePositives", "metric", "true_positives"),
    ("MLSE", "loss", "msle"),
]


def _keras_class(keras, dotted: str) -> type:
    value = keras
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("spelling", "kind", "expected"), SEED_NAMES)
def test_seed_name_resolves_to_keras_class(keras, spelling, kind, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        built = kreg.get(spelling, kind=kind, **REQUIRED.get(spelling, {}))
    assert type(built) is _keras_class(keras, expected)


@pytest.mark.parametrize(("spelling", "kind", "expected", "canonical"), SEED_LEGACY)
def test_keras2_name_works_with_warning_naming_new_spelling(
    keras, spelling, kind, expected, canonical
):
    with pytest.warns(DeprecationWarning, match=rf"use '{canonical}'") as caught:
        built = kreg.get(spelling, kind=kind)
    assert type(built) is _keras_class(keras, expected)
    assert caught[0].filename == __file__, "the warning points at the caller's line"


@pytest.mark.parametrize(("typo", "kind", "best"), SEED_TYPOS)
def test_seed_typos_get_ranked_suggestion(typo, kind, best):
    with pytest.raises(kreg.UnknownComponentError) as raised:
        kreg.get(typo, kind=kind)
    assert raised.value.suggestions[0] == best
    assert f"Did you mean '{best}'" in str(raised.value)


@pytest.mark.parametrize(
    "spelling", ["Huber", "huber", "HUBER", "hu-ber", "Hu ber", "keras:huber", "KERAS:Huber"]
)
def test_spelling_variants_resolve(spelling):
    assert kreg.lookup(spelling).qualified_name == "keras:huber"


@pytest.mark.parametrize("spelling", ["MeanSquaredError", "mean_squared_error", "mse", "MSE"])
def test_class_snake_and_alias_spellings_agree(spelling):
    assert kreg.lookup(spelling, kind="loss").name == "mean_squared_error"
    assert kreg.lookup(spelling, kind="metric").name == "mean_squared_error"


def test_logcosh_warns_only_for_the_keras2_spelling():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert kreg.lookup("LogCosh", kind="loss").name == "log_cosh"
        kreg.get("log_cosh", kind="loss")
        kreg.get("LogCosh", kind="loss")
        kreg.get("log_cosh", kind="metric")
    with pytest.warns(DeprecationWarning, match="Keras 2 name"):
        kreg.get("logcosh", kind="loss")


def test_lr_maps_to_learning_rate_with_warning(keras):
    with pytest.warns(DeprecationWarning, match=r"use learning_rate=0\.02"):
        optimizer = kreg.get("sgd", lr=0.02, momentum=0.9)
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert optimizer.get_config()["learning_rate"] == pytest.approx(0.02)
    assert optimizer.get_config()["momentum"] == pytest.approx(0.9)


def test_both_lr_and_learning_rate_is_a_config_error():
    with pytest.raises(kreg.ConfigError, match="keep learning_rate= only"):
        kreg.get("adam", lr=0.1, learning_rate=0.2)


def test_keras2_decay_becomes_inverse_time_decay_with_same_rate_at_every_step(keras):
    lr, decay = 0.01, 1e-2
    with pytest.warns(DeprecationWarning, match="InverseTimeDecay"):
        optimizer = kreg.get("sgd", lr=lr, decay=decay, momentum=0.9, nesterov=True)
    schedule = optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.InverseTimeDecay)
    for step in [0, 1, 10, 500, 12345]:
        keras2_rate = lr * (1.0 / (1.0 + decay * step))
        assert float(schedule(step)) == pytest.approx(keras2_rate, rel=1e-6)
    assert optimizer.get_config()["nesterov"] is True


def test_decay_with_a_schedule_is_refused():
    schedule = kreg.get(
        "exponential_decay", initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5
    )
    with pytest.raises(kreg.ConfigError, match="cannot be combined"):
        kreg.get("sgd", learning_rate=schedule, decay=0.1)


def test_reduction_auto_maps_to_sum_over_batch_size():
    with pytest.warns(DeprecationWarning, match="sum_over_batch_size"):
        loss = kreg.get("binary_crossentropy", reduction="auto", kind="loss")
    assert loss.reduction == "sum_over_batch_size"


def test_seed_reductions_match_plain_keras(keras):
    y_true, y_pred = np.ones((2, 2), "float32"), np.zeros((2, 2), "float32")
    for reduction in ["sum_over_batch_size", "sum", "none"]:
        ours = kreg.get("MeanSquaredError", kind="loss", reduction=reduction)(y_true, y_pred)
        theirs = keras.losses.MeanSquaredError(reduction=reduction)(y_true, y_pred)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs))


def test_nested_config_schedule_inside_optimizer(keras):
    schedule = kreg.get(
        "exponential_decay", initial_learning_rate=1e-2, decay_steps=10000, decay_rate=0.9
    )
    optimizer = kreg.get("sgd", learning_rate=schedule)
    assert optimizer._learning_rate is schedule


def test_instances_come_back_unchanged(keras):
    loss = keras.losses.Huber()
    assert kreg.get(loss) is loss
    assert kreg.get(len) is len


def test_huber_with_delta_is_keras_huber(keras):
    loss = kreg.get("huber", delta=2.0)
    assert type(loss) is keras.losses.Huber
    reference = keras.losses.Huber(delta=2.0)
    y_true, y_pred = np.array([[0.0], [10.0]]), np.array([[1.0], [0.0]])
    assert float(loss(y_true, y_pred)) == pytest.approx(float(reference(y_true, y_pred)))


def test_every_builtin_entry_builds_or_names_its_required_argument(keras):
    for entry in kreg.entries():
        if entry.plugin != "keras":
            continue
        try:
            built = kreg.get(entry.qualified_name, kind=entry.kind)
        except kreg.ConfigError as error:
            assert error.argument, f"{entry.qualified_name}: {error}"
            assert "requires argument" in str(error)
            continue
        base = {
            "loss": keras.losses.Loss,
            "metric": keras.metrics.Metric,
            "optimizer": keras.optimizers.Optimizer,
            "schedule": keras.optimizers.schedules.LearningRateSchedule,
        }[entry.kind]
        assert isinstance(built, base), entry.qualified_name


def test_catalogue_has_no_bases_or_wrappers():
    targets = {e.target_path.rsplit(".", 1)[-1] for e in kreg.entries()}
    for excluded in [
        "Loss",
        "Metric",
        "Optimizer",
        "LearningRateSchedule",
        "LossFunctionWrapper",
        "MeanMetricWrapper",
        "LossScaleOptimizer",
        "Mean",
        "Sum",
    ]:
        assert excluded not in targets


def test_catalogue_follows_installed_keras(keras):
    public_losses = {
        name
        for name in dir(keras.losses)
        if isinstance(getattr(keras.losses, name), type) and name not in {"Loss", "Reduction"}
    }
    registered = {e.target_path.rsplit(".", 1)[-1] for e in kreg.entries("loss")}
    assert public_losses <= registered
