"""kreg-contrib as users get it: discovered through its entry point, checked, trained, saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kreg
from kreg.testing import assert_follows_contract, each_entry


def test_discovered_through_its_entry_point():
    info = next(p for p in kreg.plugins() if p.name == "contrib")
    assert info.status == "ok", info.error
    assert info.source == "entry point of kreg-contrib"
    assert info.counts == {"loss": 2, "metric": 2, "optimizer": 1, "schedule": 2}
    assert kreg.lookup("pinball").qualified_name == "contrib:quantile"
    assert kreg.lookup("MCC").qualified_name == "contrib:matthews_correlation"
    assert not kreg.lookup("one_cycle").is_loaded, "listing imports no component module"


@each_entry("contrib")
def test_every_component_follows_its_contract(entry):
    report = assert_follows_contract(entry)
    assert report["config_roundtrip"].outcome == "pass"
    assert report["serialization"].outcome == "pass"


@pytest.mark.kreg_entries("contrib", kind="schedule")
def test_the_marker_parametrizes_over_one_kind(kreg_entry):
    assert kreg_entry.kind == "schedule"
    assert_follows_contract(kreg_entry)


def _classification_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")
    return x, y


def _classifier():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    schedule = kreg.get("warmup_cosine", peak_learning_rate=0.05, warmup_steps=4, decay_steps=40)
    model.compile(
        loss=kreg.get("focal_tversky", alpha=0.6, beta=0.4),
        optimizer=kreg.get("lookahead", optimizer="adam", learning_rate=schedule, sync_period=3),
        metrics=[kreg.get("mcc"), kreg.get("cohen_kappa", num_classes=2)],
    )
    return model


def test_trains_a_model():
    import keras

    x, y = _classification_data()
    history = _classifier().fit(x, y, batch_size=16, epochs=8, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert history["matthews_correlation"][-1] > 0.5
    assert history["cohen_kappa"][-1] > 0.5

    keras.utils.set_random_seed(0)
    regression = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    regression.compile(
        loss=kreg.get("pinball", quantile=0.8),
        optimizer=kreg.get(
            "sgd", learning_rate=kreg.get("one_cycle", max_learning_rate=0.1, total_steps=40)
        ),
    )
    target = x @ np.array([[1.0], [-1.0], [0.5], [0.0]], "float32")
    losses = regression.fit(x, target, batch_size=16, epochs=10, verbose=0).history["loss"]
    assert losses[-1] < losses[0] / 2


LOADER = """
    import json, sys
    import numpy as np
    import kreg  # its import hook registers plugin components with Keras: no custom_objects
    import keras

    model = keras.models.load_model(sys.argv[1])
    x, y = np.load(sys.argv[2])["x"], np.load(sys.argv[2])["y"]
    evaluation = model.evaluate(x, y, verbose=0, return_dict=True)  # builds the metrics
    print(json.dumps({
        "loss": type(model.loss).__name__,
        "loss_config": model.loss.get_config(),
        "optimizer": type(model.optimizer).__name__,
        "inner": type(model.optimizer.inner).__name__,
        "schedule": type(model.optimizer._learning_rate).__name__,
        "metrics": sorted(type(m).__name__ for m in model.metrics[1].metrics),
        "iterations": int(model.optimizer.iterations.numpy()),
        "optimizer_variables": [np.asarray(v).tolist() for v in model.optimizer.variables],
        "weights": [w.tolist() for w in model.get_weights()],
        "evaluation": evaluation,
    }))
"""


def test_round_trips_through_a_keras_file_without_custom_objects(tmp_path):
    x, y = _classification_data()
    model = _classifier()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    (tmp_path / "load.py").write_text(textwrap.dedent(LOADER))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "load.py"),
            str(tmp_path / "model.keras"),
            str(tmp_path / "data.npz"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert (loaded["loss"], loaded["optimizer"], loaded["inner"], loaded["schedule"]) == (
        "FocalTversky",
        "Lookahead",
        "Adam",
        "WarmupCosine",
    )
    assert (loaded["loss_config"]["alpha"], loaded["loss_config"]["beta"]) == (0.6, 0.4)
    assert loaded["metrics"] == ["CohenKappa", "MatthewsCorrelation"]
    assert loaded["iterations"] == int(model.optimizer.iterations.numpy()) == 8
    saved_slots = [v.numpy() for v in model.optimizer.variables]
    assert len(loaded["optimizer_variables"]) == len(saved_slots)
    for got, want in zip(loaded["optimizer_variables"], saved_slots):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    for got, want in zip(loaded["weights"], model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    here = model.evaluate(x, y, verbose=0, return_dict=True)
    for key, value in here.items():
        assert loaded["evaluation"][key] == pytest.approx(value, rel=1e-5), key
