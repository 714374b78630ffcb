"""Models compiled with registry components save to .keras and load back exactly."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kreg
from tests.conftest import ROOT, subprocess_env


def test_huber_delta_repair_is_active_only_because_keras_drops_it(keras):
    from kreg.kerasext.serialization import repair_class_config

    repaired = repair_class_config(keras.losses.Huber)
    if not repaired:
        pytest.skip("this Keras keeps delta itself; kreg's repair is inactive")
    assert repaired == ["delta"]
    original = keras.losses.Loss.get_config(kreg.get("huber", delta=5.0))
    assert "delta" not in original, "the installed Keras really drops delta"
    restored = keras.losses.deserialize(keras.losses.serialize(kreg.get("huber", delta=5.0)))
    y_true, y_pred = np.array([[0.0]]), np.array([[4.0]])
    assert float(restored(y_true, y_pred)) == pytest.approx(8.0)


def test_repair_is_inactive_when_keras_keeps_the_argument(keras):
    from kreg.kerasext.serialization import repair_class_config

    class Complete(keras.losses.Loss):
        def __init__(self, scale=1.0, name="complete", reduction="sum", dtype=None):
            super().__init__(name=name, reduction=reduction, dtype=dtype)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * (y_true - y_pred)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    original = Complete.get_config
    assert repair_class_config(Complete) == []
    assert Complete.get_config is original
    optimizer = kreg.get("adam", learning_rate=0.5)
    assert "get_config" not in vars(optimizer)


@pytest.mark.parametrize(
    ("name", "kind", "config"),
    [
        ("huber", "loss", {"delta": 5.0}),
        ("cosine_similarity", "loss", {"axis": 0}),
        ("cosine_similarity", "metric", {"axis": 0}),
        ("sparse_categorical_crossentropy", "loss", {"axis": 0}),
        ("sparse_top_k_categorical_accuracy", "metric", {"k": 3, "from_sorted_ids": True}),
        ("sgd", "optimizer", {"learning_rate": 0.3, "momentum": 0.7, "clipnorm": 1.0}),
        (
            "exponential_decay",
            "schedule",
            {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.3},
        ),
    ],
)
def test_config_round_trip_keeps_every_argument(keras, name, kind, config):
    built = kreg.get(name, kind=kind, **config)
    saved = keras.saving.serialize_keras_object(built)
    for key, value in config.items():
        assert saved["config"][key] == pytest.approx(value), key
    restored = keras.saving.deserialize_keras_object(saved)
    assert type(restored) is type(built)
    kept = {**vars(restored), **getattr(restored, "_fn_kwargs", {})}
    for key, value in config.items():
        if key in kept:  # the value reached the restored object (not only its config)
            assert kept[key] == pytest.approx(value), key


CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import kreg
    import keras

    path, data = sys.argv[1], np.load(sys.argv[2])
    model = keras.models.load_model(path)
    out = {
        "compile_config": json.loads(json.dumps(model.get_compile_config(), default=str)),
        "weights": [w.tolist() for w in model.get_weights()],
        "optimizer": [np.asarray(v).tolist() for v in model.optimizer.variables],
        "evaluate": model.evaluate(data["x"], data["y"], verbose=0, return_dict=True),
    }
    print(json.dumps(out))
    """
)


def _load_in_fresh_process(tmp_path, plugin_site, model_path, x, y):
    np.savez(tmp_path / "data.npz", x=x, y=y)
    (tmp_path / "child.py").write_text(CHILD)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "child.py"), str(model_path), str(tmp_path / "data.npz")],
        env=subprocess_env(plugin_site, KREG_PLUGINS="acme"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_save_and_load_in_fresh_process_without_custom_objects(
    tmp_path, use_plugins, plugin_site, keras
):
    use_plugins("acme")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]])).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.warns(DeprecationWarning):
        optimizer = kreg.get("SGD", lr=0.05, momentum=0.5, decay=1e-3, clipnorm=1.0)
        rmse = kreg.get("rmse")
    model.compile(
        loss=kreg.get("smae", scale=3.0),
        optimizer=optimizer,
        metrics=[
            kreg.get("mae", kind="metric"),
            rmse,
            kreg.get("cosine_similarity", kind="metric", axis=0),
            kreg.get("acme:mean_pred"),
            kreg.get("acc"),
        ],
    )
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    expected_evaluate = model.evaluate(x, y, verbose=0, return_dict=True)
    loaded = _load_in_fresh_process(tmp_path, plugin_site, path, x, y)

    original_config = json.loads(json.dumps(model.get_compile_config(), default=str))
    assert loaded["compile_config"] == original_config
    loss_config = loaded["compile_config"]["loss"]
    assert loss_config["registered_name"] == "acme>ScaledMAE"
    assert loss_config["config"]["scale"] == 3.0
    schedule = loaded["compile_config"]["optimizer"]["config"]["learning_rate"]
    assert schedule["class_name"] == "InverseTimeDecay"
    assert schedule["config"]["decay_rate"] == pytest.approx(1e-3)
    for ours, theirs in zip(model.get_weights(), loaded["weights"]):
        np.testing.assert_array_equal(ours, np.asarray(theirs))
    for ours, theirs in zip(model.optimizer.variables, loaded["optimizer"]):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert int(np.asarray(model.optimizer.iterations)) == 8
    for key, value in expected_evaluate.items():
        assert loaded["evaluate"][key] == pytest.approx(value, rel=1e-5), key


def test_builtin_huber_delta_survives_save_and_load(tmp_path, keras):
    x = np.array([[0.0], [1.0]], "float32")
    y = np.array([[8.0], [9.0]], "float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(loss=kreg.get("huber", delta=5.0), optimizer="sgd")
    before = model.evaluate(x, y, verbose=0)
    model.save(tmp_path / "huber.keras")
    after = keras.models.load_model(tmp_path / "huber.keras").evaluate(x, y, verbose=0)
    assert after == pytest.approx(before)
