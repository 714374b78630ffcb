"""Loss verdicts that once were wrong on real libraries, each against a real fit/save/load.

The components (tests/realcases) are written here and each reproduces a case of the survey of
real third-party Keras libraries (issue 14); the verdict asserted is what Keras itself does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kreg
from kreg.contracts import Example
from kreg.ui.describe import repaired_arguments
from tests.conftest import subprocess_env


def _outcomes(report) -> dict[str, str]:
    return {r.name: r.outcome for r in report.results}


def _fit(keras, loss, y, *, output=None, sample_weight=None, epochs=2):
    """Fit a tiny Dense model to ``y`` with ``loss``; the history's losses."""
    x = np.random.default_rng(0).normal(size=(len(y), 3)).astype("float32")
    shape = output or y.shape[1:]
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(int(np.prod(shape))),
            keras.layers.Reshape(shape),
        ]
    )
    model.compile(keras.optimizers.SGD(0.05), loss)
    history = model.fit(x, y, sample_weight=sample_weight, batch_size=8, epochs=epochs, verbose=0)
    model.inputs_seen = x
    return model, history.history["loss"]


@pytest.mark.parametrize("name", ["mean_squared_error", "binary_crossentropy"])
def test_sequence_losses_are_checked_with_the_weights_fit_needs(keras, name):
    """Keras's own losses on (batch, time, features) return (batch, time): fit needs such weights.

    kreg once gave them (batch,) weights and failed them; fit shows (batch, time) is right.
    """
    rng = np.random.default_rng(0)
    y = rng.uniform(0.1, 0.9, (16, 3, 2)).astype("float32")
    example = Example(y[:4], rng.uniform(0.1, 0.9, (4, 3, 2)).astype("float32"))
    report = kreg.check(name, "loss", example=example)
    assert report.ok, str(report)
    assert (
        "of shape (4, 3), one per element of what call() returns" in report["sample_weight"].message
    )
    _, losses = _fit(keras, name, y, sample_weight=np.ones((16, 3), "float32"))
    assert np.isfinite(losses).all()
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        _fit(keras, name, y, sample_weight=np.ones(16, "float32"))


def test_a_loss_that_keeps_every_axis_fails_with_what_call_returned(keras, realcases):
    """Per-item losses (keras-rs) cannot take (batch,) weights in fit; the report says why."""
    report = realcases("per_item_loss")
    assert not report.ok
    assert [r.name for r in report.failures] == ["sample_weight"]
    message = report["sample_weight"].message
    assert message.startswith("call() returns shape (4, 5) for y_pred of shape (4, 5)")
    for part in ("one weight per sample (shape (4,)) fails", "Reduce the last axis", "(4, 5)"):
        assert part in message
    y = np.random.default_rng(1).normal(size=(16, 5)).astype("float32")
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        _fit(keras, kreg.get("realcases:per_item_loss"), y, sample_weight=np.ones(16, "float32"))


def test_an_example_gives_its_own_sample_weight(keras, realcases):
    """With per-item weights in the example, the same loss passes, as fit with them trains."""
    report = realcases("per_item_loss_weighted")
    assert report.ok, str(report)
    assert "of shape (4, 5) (the example's)" in report["sample_weight"].message
    y = np.random.default_rng(1).normal(size=(16, 5)).astype("float32")
    weights = np.ones((16, 5), "float32")
    weights[:, 3:] = 0.0
    loss = kreg.get("realcases:per_item_loss_weighted")
    _, losses = _fit(keras, loss, y, sample_weight=weights, epochs=3)
    assert losses[-1] < losses[0]


def test_a_dict_y_true_is_one_batch_of_lists(keras, realcases):
    """y_true = {"labels", "mask"} holds 4 lists, not 2; such a loss trains in a real fit."""
    report = realcases("masked_list_loss")
    assert report.ok, str(report)
    assert report["per_sample"].message == "shape (4,) for a batch of 4"

    class ListModel(keras.Model):
        """Passes the dict of labels to the loss, as keras-rs's ranking examples do."""

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            if isinstance(sample_weight, dict):  # fit() spreads it over y's structure
                sample_weight = sample_weight["labels"]
            return self.loss(y, y_pred, sample_weight=sample_weight)

    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 3)).astype("float32")
    labels = rng.integers(0, 3, (16, 5)).astype("float32")
    mask = (rng.uniform(size=(16, 5)) > 0.3).astype("float32")
    inputs = keras.Input((3,))
    model = ListModel(inputs, keras.layers.Dense(5)(inputs))
    model.compile(keras.optimizers.SGD(0.05), kreg.get("realcases:masked_list_loss"))
    history = model.fit(
        x,
        {"labels": labels, "mask": mask},
        sample_weight=rng.uniform(size=16),
        batch_size=8,
        epochs=3,
        verbose=0,
    )
    assert np.isfinite(history.history["loss"]).all()
    per_sample = kreg.get("realcases:masked_list_loss", reduction="none")
    assert tuple(
        per_sample({"labels": labels, "mask": mask}, model.predict(x, verbose=0)).shape
    ) == (16,)


def test_one_value_per_batch_by_design_is_a_tag(keras, realcases):
    """A contrastive loss is one value per batch: untagged it fails per_sample (with the tag
    named), tagged 'per-batch' those checks are skipped with the reason; it trains either way."""
    untagged = realcases("simclr_untagged")
    assert [r.name for r in untagged.failures] == ["per_sample"]
    assert "register it with tags=['per-batch']" in untagged["per_sample"].message
    tagged = realcases("simclr_loss")
    assert tagged.ok, str(tagged)
    for name in ("per_sample", "reductions", "sample_weight"):
        assert tagged[name].outcome == "skipped"
        assert "tagged 'per-batch' by its provider" in tagged[name].message
    assert tagged["gradient"].outcome == "pass"
    ids = np.array([[1], [0], [3], [2]] * 4, "float32")
    loss = kreg.get("realcases:simclr_loss")
    model, losses = _fit(keras, loss, ids, output=(8,), epochs=3)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    embedded = model.predict(model.inputs_seen, verbose=0)
    value = kreg.get("realcases:simclr_loss", reduction="none")(ids, embedded)
    assert tuple(value.shape) == ()


def test_a_missing_optional_dependency_is_named_with_its_install(realcases):
    """keras-hub's RougeL without rouge-score: the report names the module and the pip install."""
    report = realcases("rouge_loss")
    assert [r.name for r in report.failures] == ["construct"]
    message = report["construct"].message
    assert "needs the module 'kreg_absent_optional_dependency'" in message
    assert "pip install kreg-absent-optional-dependency" in message
    assert "give every __init__ argument a default" not in message
    assert message.count("pip install") == 1
    from tests.realcases.losses import RougeLoss

    with pytest.raises(ModuleNotFoundError):
        RougeLoss()
    with pytest.raises(kreg.KregError, match="pip install kreg-absent-optional-dependency"):
        kreg.get("realcases:rouge_loss")


@pytest.fixture(scope="module")
def plain_keras(tmp_path_factory) -> dict[str, object]:
    """What Keras alone (a fresh process without kreg) does with the wrong get_configs."""
    folder = tmp_path_factory.mktemp("plain_keras")
    done = subprocess.run(
        [sys.executable, "-m", "tests.realcases.plain_keras", str(folder)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    assert found["kreg_imported"] is False
    return found


def _save_and_load(keras, model, tmp_path):
    model.save(tmp_path / "model.keras")
    return keras.models.load_model(tmp_path / "model.keras")


def test_a_required_argument_missing_from_get_config_means_load_model_fails(
    keras, realcases, plain_keras, tmp_path
):
    """keras-cv's CIoULoss: the report says load_model fails (it does, in plain Keras); kreg
    hands the loss out repaired, with a warning, and the repaired model loads."""
    report = realcases("box_loss")
    saving = ["config_covers_init", "config_roundtrip", "serialization"]
    assert [r.name for r in report.failures] == saving  # as written, not as kreg repaired it
    message = report["config_covers_init"].message
    assert "a saved model cannot be loaded (load_model fails" in message
    assert "reload with the defaults" not in message and "name= and dtype=" not in message
    assert (
        "missing 1 required positional argument: 'bounding_box_format'" in plain_keras["box_loss"]
    )
    with pytest.warns(UserWarning, match="bounding_box_format.*cannot be loaded.*repaired"):
        loss = kreg.get("realcases:box_loss", bounding_box_format="xywh")
    assert repaired_arguments(kreg.lookup("realcases:box_loss")) == ["bounding_box_format"]
    y = np.random.default_rng(3).uniform(0, 1, (16, 4)).astype("float32")
    model, _ = _fit(keras, loss, y)
    loaded = _save_and_load(keras, model, tmp_path)
    assert loaded.loss.bounding_box_format == "xywh"


def test_a_required_argument_missing_from_a_get_config_of_its_own_is_found_at_first_use(
    keras, realcases, plain_keras, tmp_path
):
    """keras-cv's CIoULoss exactly: its own get_config drops the format, which no structural
    check can see. kreg.get finds it on first use (warns, repairs); kreg check fails the
    config checks as the author wrote them, saying load_model fails, as it does."""
    report = realcases("own_config_box_loss")
    assert report["config_covers_init"].outcome == "pass"
    assert [r.name for r in report.failures] == ["config_roundtrip", "serialization"]
    assert "load_model fails" in report["config_roundtrip"].message
    assert report["serialization"].message.startswith(
        "get_config() does not return 'bounding_box_format', which __init__ requires: "
        "load_model of a saved model fails"
    )
    assert "missing 1 required positional argument" in plain_keras["own_config_box_loss"]
    with pytest.warns(UserWarning, match="does not return 'bounding_box_format'.*cannot be"):
        loss = kreg.get("realcases:own_config_box_loss", bounding_box_format="xywh")
    y = np.random.default_rng(3).uniform(0, 1, (16, 4)).astype("float32")
    model, _ = _fit(keras, loss, y)
    assert _save_and_load(keras, model, tmp_path).loss.bounding_box_format == "xywh"


def test_a_gap_in_get_config_trains_with_a_warning_and_is_repaired(
    keras, realcases, plain_keras, tmp_path
):
    """medicai's losses train in fit: kreg hands them out (it once refused them), warns at first
    use, repairs get_config; plain Keras reloads the default, which kreg check still fails."""
    report = realcases("smooth_dice_loss")
    saving = ["config_covers_init", "config_roundtrip", "serialization"]
    assert [r.name for r in report.failures] == saving
    assert "a saved model would reload with the defaults" in report["config_covers_init"].message
    assert plain_keras["smooth_dice_loss"] == 1.0  # built with 3.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = kreg.get("realcases:smooth_dice_loss", smooth=3.0)
        kreg.get("realcases:smooth_dice_loss")
    told = [str(w.message) for w in caught if "smooth_dice_loss" in str(w.message)]
    assert len(told) == 1 and "'smooth'" in told[0] and "trains" in told[0]
    y = np.random.default_rng(4).uniform(0, 1, (16, 4)).astype("float32")
    model, losses = _fit(keras, loss, y)
    assert np.isfinite(losses).all()
    assert _save_and_load(keras, model, tmp_path).loss.smooth == 3.0


def test_two_classes_under_one_keras_name_are_named_as_a_collision(keras, realcases, tmp_path):
    """kgcnn's collision: the report names both classes; load_model rebuilds the other one."""
    report = realcases("first_colliding_loss")
    assert [r.name for r in report.failures] == ["serialization"]
    message = report["serialization"].message
    assert "'realcases>Collision'" in message and "SecondCollidingLoss" in message
    assert "two classes are registered under one name" in message
    y = np.random.default_rng(5).normal(size=(16, 2)).astype("float32")
    with pytest.warns(UserWarning, match="maps its saved name 'realcases>Collision'"):
        loss = kreg.get("realcases:first_colliding_loss")
    model, _ = _fit(keras, loss, y)
    assert type(_save_and_load(keras, model, tmp_path).loss).__name__ == "SecondCollidingLoss"


def test_plain_callables_are_handed_out_and_train(keras, realcases, tmp_path):
    """segmentation-models' DiceLoss (a callable class) and iou_score (a function): compile
    accepts them, so kreg does; saving the callable object fails, and kreg check says so."""
    report = realcases("dice_loss")
    assert report["base_class"].outcome == "pass"
    assert [r.name for r in report.failures] == ["config_roundtrip", "serialization"]
    assert (
        "DiceLoss is a plain callable, not a keras.losses.Loss" in report["serialization"].message
    )
    assert realcases("iou_score").ok
    with pytest.warns(UserWarning, match="plain callable, not a Keras class.*does not load"):
        loss = kreg.get("realcases:dice_loss", smooth=2.0)
    metric = kreg.get("realcases:iou_score")
    # wrapped as compile() wraps a callable: in a LossFunctionWrapper / MeanMetricWrapper
    assert type(loss).__name__ == "LossFunctionWrapper"
    assert type(loss.fn).__name__ == "DiceLoss" and loss.fn.smooth == 2.0
    rng = np.random.default_rng(6)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = (rng.uniform(size=(16, 5)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="sigmoid")])
    model.compile("adam", loss, metrics=[metric])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
    assert set(history) == {"loss", "iou_score"} and np.isfinite(history["loss"]).all()
    model.save(tmp_path / "dice.keras")
    with pytest.raises(TypeError, match="DiceLoss"):
        keras.models.load_model(tmp_path / "dice.keras")
