"""kreg-keras-proba as users get it: discovered, checked against the truth, trained, saved.

The truth comes from real Keras 3.15 / TensorFlow 2.21 runs with keras-proba 0.1.0 (see
the README): both losses and both metrics train in fit() (graph mode, run_eagerly, XLA
and mixed_float16), take (n,) sample weights (weight 0 drops a sample), give the same
values traced as eagerly, stream, and round-trip through a .keras file loaded in a fresh
process that imports kreg. No real defect was found, so every verdict is "ok".
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import kreg
from kreg.contracts import Report
from kreg.testing import (
    assert_listing_imports_nothing,
    assert_verdict,
    each_entry,
    json_from_fresh_process,
)

PLUGIN = "keras_proba"

# entry name: (kreg verdict the truth calls for, checks that must fail, declared defects)
TRUTH: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # Real Keras: call() returns (batch,) (the NLL averaged over the units); targets of shape
    # (n, 1) or (n,); a GaussianHead(1) model trains, also with (n,) weights and XLA.
    "gaussian_nll": ("ok", (), ()),
    # Real Keras: (batch,) (summed over units); a MixtureGaussianHead(3) model trains, with an
    # unknown batch size in the graph (the last batch of 24 by 7) and (n,) weights.
    "mixture_gaussian_nll": ("ok", (), ()),
    # Real Keras: evaluate() in graph mode equals update_state on the predictions, with and
    # without (n,) weights; integer, (n, 1), one-hot and single-sigmoid labels work.
    "expected_calibration_error": ("ok", (), ()),
    "brier_score": ("ok", (), ()),
}


# The checks the truth speaks for: each must run (not be skipped) on the example.
@functools.cache
def _report(qualified_name: str) -> Report:
    return kreg.check(qualified_name)


def _get(component: str, **config: object) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no defect is declared: kreg.get must not warn
        return kreg.get(f"{PLUGIN}:{component}", **config)


def test_discovered_through_its_entry_point():
    info = next(p for p in kreg.plugins() if p.name == PLUGIN)
    assert info.status == "ok", info.error
    assert info.source == "entry point of kreg-keras-proba"
    assert {k: n for k, n in info.counts.items() if n} == {"loss": 2, "metric": 2}
    assert sorted(e.name for e in kreg.entries() if e.plugin == PLUGIN) == sorted(TRUTH)
    assert kreg.lookup("GaussianNLL").qualified_name == f"{PLUGIN}:gaussian_nll"
    assert kreg.lookup("mdn_nll").qualified_name == f"{PLUGIN}:mixture_gaussian_nll"
    assert kreg.lookup("ece").qualified_name == f"{PLUGIN}:expected_calibration_error"
    assert kreg.lookup("brier").qualified_name == f"{PLUGIN}:brier_score"
    for name, (_, _, defects) in TRUTH.items():
        assert tuple(tag for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects) == defects


def test_listing_imports_nothing():
    """`import kreg` and listing the bridge's entries import neither the library nor TF."""
    assert_listing_imports_nothing(PLUGIN, 4, ["keras_proba"])


@each_entry(PLUGIN)
def test_verdicts(entry):
    """kreg's verdict and every check's outcome: the truth has each check pass but ``failing``."""
    verdict, failing, defects = TRUTH[entry.name]
    assert_verdict(_report(entry.qualified_name), verdict, failing, defects=defects)


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    target = x @ np.array([1.0, -0.5, 0.3, 0.0], "float32") + 0.3 * rng.normal(size=48)
    labels = np.argmax(x[:, :3] + 0.5 * rng.normal(size=(48, 3)), axis=-1).astype("int32")
    weights = rng.uniform(0.2, 2.0, 48).astype("float32")
    return x, target.astype("float32")[:, None], labels, weights


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Models trained with components from kreg.get, saved, then loaded in one fresh process."""
    import keras
    from keras_proba.layers import GaussianHead, MixtureGaussianHead

    folder = tmp_path_factory.mktemp("keras_proba")
    x, target, labels, weights = _data()
    keras.utils.set_random_seed(0)
    # keras-proba's own head: [mean, scale] from its GaussianHead layer.
    head = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), GaussianHead(1)]
    )
    head.compile(optimizer=keras.optimizers.Adam(0.01), loss=_get("gaussian_nll"))
    head_losses = head.fit(x, target, batch_size=8, epochs=4, verbose=0).history["loss"]
    # The same [mean, scale] output from Keras layers only.
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    mean = keras.layers.Dense(1)(hidden)
    scale = keras.layers.Dense(1, activation="softplus")(hidden)
    plain = keras.Model(inputs, keras.layers.Concatenate()([mean, scale]))
    plain.compile(optimizer=keras.optimizers.Adam(0.01), loss=_get("gaussian_nll"))
    plain.fit(x, target, sample_weight=weights, batch_size=8, epochs=2, verbose=0)

    mixture = keras.Sequential([keras.Input((4,)), MixtureGaussianHead(3)])
    mixture.compile(optimizer=keras.optimizers.Adam(0.01), loss=_get("mdn_nll"))
    mixture_losses = mixture.fit(
        x, target, sample_weight=weights, batch_size=7, epochs=2, verbose=0
    ).history["loss"]

    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    classifier.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        weighted_metrics=[_get("ece", num_bins=10), _get("brier")],
    )
    history = classifier.fit(x, labels, sample_weight=weights, batch_size=16, epochs=2, verbose=0)
    evaluated = classifier.evaluate(
        x, labels, sample_weight=weights, batch_size=16, verbose=0, return_dict=True
    )
    predictions = classifier.predict(x, verbose=0)

    head.save(folder / "head.keras")
    plain.save(folder / "plain.keras")
    classifier.save(folder / "classifier.keras")
    np.savez(folder / "data.npz", x=x, target=target, labels=labels, weights=weights)
    return {
        "head_losses": head_losses,
        "mixture_losses": mixture_losses,
        "history": history.history,
        "evaluated": evaluated,
        "predictions": predictions,
        "data": (x, target, labels, weights),
        "regression": {
            "head": head.evaluate(x, target, verbose=0),
            "plain": plain.evaluate(x, target, verbose=0),
        },
        "loaded": json_from_fresh_process(LOADER, str(folder)),
    }


def test_real_fit(trained):
    """compile + fit with components from kreg.get; evaluate() equals update_state."""
    assert trained["head_losses"][-1] < trained["head_losses"][0]
    assert np.isfinite(trained["mixture_losses"]).all()
    assert set(trained["history"]) == {"loss", "ece", "brier_score"}
    _, _, labels, weights = trained["data"]
    for key, metric in [("ece", _get("ece", num_bins=10)), ("brier_score", _get("brier"))]:
        metric.update_state(labels, trained["predictions"], sample_weight=weights)
        assert trained["evaluated"][key] == pytest.approx(float(metric.result()), rel=1e-5), key


def test_round_trip_without_custom_objects(trained):
    """Saved models with Keras's own layers load in a fresh process that imports kreg."""
    loaded = trained["loaded"]
    assert loaded["plain"] == ["GaussianNLL", pytest.approx(trained["regression"]["plain"])]
    assert loaded["metrics"] == [
        ["ExpectedCalibrationError", {"name": "ece", "num_bins": 10, "from_logits": False}],
        ["BrierScore", {"name": "brier_score", "from_logits": False}],
    ]
    for key, value in trained["evaluated"].items():
        assert loaded["classification"][key] == pytest.approx(value, rel=1e-5), key


def test_head_model_loads_once_its_layer_library_is_imported(trained):
    """A GaussianHead model needs keras_proba's own layer, which is not a kreg entry.

    `import kreg` does not import keras_proba (its entries are lazy), so a model that holds
    keras_proba's layer does not load until keras_proba is imported, as without kreg. Loading
    a model that refers to one of the bridge's losses imports it; the head model loads then.
    """
    loaded = trained["loaded"]
    assert loaded["keras_proba_imported_by_kreg"] is False
    assert "GaussianHead" in loaded["head_before_import"]
    assert loaded["keras_proba_imported_by_load"] is True
    assert loaded["head"] == ["GaussianNLL", pytest.approx(trained["regression"]["head"])]


LOADER = """
    import json, sys
    import numpy as np
    import kreg  # its import hook registers plugin components with Keras: no custom_objects
    import keras

    folder = sys.argv[1]
    data = np.load(folder + "/data.npz")
    found = {}

    def load_regression(name):
        try:
            model = keras.models.load_model(f"{folder}/{name}.keras")
            return [type(model.loss).__name__, model.evaluate(data["x"], data["target"], verbose=0)]
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    found["keras_proba_imported_by_kreg"] = "keras_proba" in sys.modules
    found["head_before_import"] = load_regression("head")  # its layer is not a kreg entry
    found["plain"] = load_regression("plain")  # kreg's stand-in imports the real GaussianNLL
    found["keras_proba_imported_by_load"] = "keras_proba" in sys.modules
    classifier = keras.models.load_model(folder + "/classifier.keras")
    found["classification"] = classifier.evaluate(
        data["x"], data["labels"], sample_weight=data["weights"], batch_size=16, verbose=0,
        return_dict=True,
    )
    found["metrics"] = [
        [type(m).__name__, {k: v for k, v in m.get_config().items() if k != "dtype"}]
        for m in classifier.metrics[1].metrics
    ]
    found["head"] = load_regression("head")  # keras_proba, now imported, registered its layer
    print(json.dumps(found))
"""


def test_preflight_reads_the_declarations():
    """Brier and ECE declare probabilities: on a linear output preflight warns, with the fix;
    on a softmax output with integer labels (what the truth above trains) it says nothing."""
    import keras

    y = np.array([0, 2, 1, 2] * 8, "int32")

    def model(activation):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])

    metrics = [kreg.get("keras_proba:brier_score"), "keras_proba:expected_calibration_error"]
    linear = kreg.preflight(
        model(None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=metrics,
        y=y,
    )
    assert [f.code for f in linear.warnings] == ["probabilities-on-unbounded"] * 2, linear
    assert 'end the output with activation="softmax"' in linear.warnings[0].fix
    fine = kreg.preflight(
        model("softmax"), loss="sparse_categorical_crossentropy", metrics=metrics, y=y
    )
    assert not fine.errors and not fine.warnings, fine
