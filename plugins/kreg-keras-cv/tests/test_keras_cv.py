"""kreg-keras-cv as users get it: discovered, checked against the truth, trained, saved.

The truth comes from real Keras 3.15 / TensorFlow 2.21 runs with keras-cv 0.9.0 (see the
README). Every loss trains in fit() in graph mode; focal, smooth L1, SimCLR and CenterNet's
box loss give one loss per sample (or per box) and take sample weights. IoULoss and
GIoULoss pair boxes across samples on batched input, CIoULoss cannot be loaded from a saved
model without kreg's repair of its get_config, the penalty-reduced focal loss keeps every
heatmap axis, and three formulas are wrong in some settings. The real defects are in the
TRUTH table.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import kreg
from kreg.testing import (
    MUST_RUN,
    assert_listing_imports_nothing,
    assert_verdict,
    check_quietly,
    each_entry,
    get_quietly,
    json_from_fresh_process,
)

PLUGIN = "keras_cv"

# IoULoss, GIoULoss: on (batch, num_boxes, 4) boxes, ops.diagonal over axes 0 and 1 of the
# (batch, num_boxes, num_boxes) IoU matrix pairs box i of sample i with every box of sample
# i. Real Keras: reduction="none" returns shape (3,) for a batch of 4; the linear IoU loss
# is 0.756 where the mean of the per-box losses is 0.414; fit(sample_weight=w) raises
# "Dimensions must be equal, but are 3 and 4". kreg's per_sample check must fail.
DIAGONAL = ("batched-diagonal",)
# CIoULoss.get_config() has no bounding_box_format. Real Keras: load_model of a model
# compiled with it raises "TypeError: ... CIoULoss.__init__() missing 1 required positional
# argument: 'bounding_box_format'". kreg finds that itself when it first hands the loss out
# (it warns and repairs get_config, so kreg's objects save and load): no declared defect.
# kreg's config_roundtrip and serialization, which judge keras-cv's own code, must fail.
# FocalLoss(label_smoothing > 0): alpha goes to the negatives' weight for every label.
SMOOTHING = ("label-smoothing-alpha",)
# SmoothL1Loss(l1_cutoff != 1): 0.5 x**2 below the cutoff, |x| - 0.5 above: a jump.
CUTOFF = ("l1-cutoff-jump",)
# BinaryPenaltyReducedFocalCrossEntropy returns (batch, h, w, classes). Real Keras: fit
# with (n,) weights raises "Dimensions must be equal, but are 2 and 4" for batch_size=4,
# and trains, weighing classes, for batch_size=2 (= classes). kreg's sample_weight fails.
PER_ELEMENT = ("sample-weight-shape",)
# CenterNetBoxLoss floors the heading target to whole radians.
HEADING = ("heading-floored",)

# entry name: (kreg verdict the truth calls for, checks that must fail, declared defects)
TRUTH: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "iou_loss": ("failed", ("per_sample",), DIAGONAL),
    "giou_loss": ("failed", ("per_sample",), DIAGONAL),
    # Real Keras: one loss per box (batch, num_boxes); (batch, num_boxes) weights work, as
    # for Keras's own losses on (batch, num_boxes, 4) targets; trains in graph mode and XLA.
    "ciou_loss": ("failed", ("config_roundtrip", "serialization"), ()),
    # Real Keras: (batch,) losses, (n,) weights, graph mode, XLA; saves and loads.
    "focal_loss": ("ok", (), SMOOTHING),
    "smooth_l1_loss": ("ok", (), CUTOFF),
    "binary_penalty_reduced_focal_cross_entropy": ("failed", ("sample_weight",), PER_ELEMENT),
    # Real Keras: (batch,) losses that depend on the whole batch (its negatives): tagged
    # 'batch-dependent'; (n,) weights scale each sample's loss.
    "simclr_loss": ("ok", (), ()),
    # Real Keras: one loss per box (batch, num_boxes), graph mode and XLA.
    "centernet_box_loss": ("ok", (), HEADING),
}


_report = functools.cache(check_quietly)


def _quietly(component: str, **config: object) -> object:
    return get_quietly(f"{PLUGIN}:{component}", **config)


def test_discovered_through_its_entry_point():
    info = next(p for p in kreg.plugins() if p.name == PLUGIN)
    assert info.status == "ok", info.error
    assert info.source == "entry point of kreg-keras-cv"
    assert {k: n for k, n in info.counts.items() if n} == {"loss": 8}
    assert sorted(e.name for e in kreg.entries() if e.plugin == PLUGIN) == sorted(TRUTH)
    assert kreg.lookup("CIoULoss").qualified_name == f"{PLUGIN}:ciou_loss"
    assert kreg.lookup("SimCLRLoss").qualified_name == f"{PLUGIN}:simclr_loss"
    assert kreg.lookup("smooth_l1").qualified_name == f"{PLUGIN}:smooth_l1_loss"
    assert kreg.lookup("penalty_reduced_focal").qualified_name == (
        f"{PLUGIN}:binary_penalty_reduced_focal_cross_entropy"
    )
    for name, (_, _, defects) in TRUTH.items():
        declared = tuple(tag for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects)
        assert declared == tuple(sorted(defects)), name


def test_listing_imports_nothing():
    """`import kreg` and listing the bridge's entries import neither the library nor TF."""
    assert_listing_imports_nothing(PLUGIN, 8, ["keras_cv", "keras_core", "tensorflow_datasets"])


@each_entry(PLUGIN)
def test_verdicts(entry):
    """kreg's verdict and every check's outcome: the truth has each check pass but ``failing``.

    A failed per_sample check skips reductions and sample_weight: they need not run then.
    """
    verdict, failing, defects = TRUTH[entry.name]
    must_run = MUST_RUN["loss"]
    if "per_sample" in failing:
        must_run = tuple(n for n in must_run if n not in ("reductions", "sample_weight"))
    report = _report(entry.qualified_name)
    assert_verdict(report, verdict, failing, defects=defects, must_run=must_run)


@pytest.mark.parametrize("name", [n for n, (_, _, d) in TRUTH.items() if d])
def test_check_report_shows_declared_defects(name):
    """kreg.get's warning says "`kreg check ...` shows it": the report must name each defect."""
    report = _report(f"{PLUGIN}:{name}")
    for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects:
        assert tag in str(report), f"{tag!r} is not in the text report:\n{report}"
        assert tag in json.dumps(report.as_dict()), f"{tag!r} is not in the JSON report"


# --- real Keras ------------------------------------------------------------------------


def _model(inputs: tuple[int, ...], layers: list[object], loss: object, **compile_args: object):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(inputs), *layers])
    model.compile(optimizer="adam", loss=loss, **compile_args)
    return model


def test_declared_defects_are_real(tmp_path):
    """Each declared defect, shown on keras-cv itself: drop the declaration once it is fixed."""
    import keras
    import keras_cv
    from keras_cv import bounding_box
    from kreg_keras_cv.plugin import boxes, heatmaps

    losses = keras_cv.losses
    example = boxes()
    y_true, y_pred = example["y_true"], example["y_pred"]
    # batched-diagonal: (num_boxes,) values, not (batch,), and not the per-box IoU.
    for cls in (losses.IoULoss, losses.GIoULoss):
        assert tuple(cls("xyxy", reduction=None)(y_true, y_pred).shape) == (3,)
    pairs = np.asarray(bounding_box.compute_iou(y_true, y_pred, "xyxy"))  # (4, 3, 3)
    per_box = np.stack([np.diag(matrix) for matrix in pairs])  # box i against box i
    linear = losses.IoULoss("xyxy", mode="linear")
    assert float(linear(y_true, y_pred)) == pytest.approx(0.7565, abs=1e-3)
    assert float(np.mean(1 - per_box)) == pytest.approx(0.4140, abs=1e-3)
    x = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    targets = np.concatenate([y_true, y_true])
    box_layers = [keras.layers.Dense(12), keras.layers.Reshape((3, 4))]
    giou = _model((5,), box_layers, losses.GIoULoss("xyxy"))
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 3 and 4"):
        giou.fit(x, targets, sample_weight=np.ones(8), batch_size=4, verbose=0)

    # CIoULoss's own get_config (kreg's repair looked through) has no bounding_box_format,
    # so what load_model does with it, from_config, fails; kreg's repaired objects load.
    ciou = _model((5,), [keras.layers.Dense(12), keras.layers.Reshape((3, 4))], None)
    with pytest.warns(UserWarning, match="does not return 'bounding_box_format'.*repaired"):
        loss = kreg.get(f"{PLUGIN}:ciou_loss", bounding_box_format="xyxy")
    ciou.compile(optimizer="adam", loss=loss)
    assert np.isfinite(ciou.fit(x, targets, batch_size=4, verbose=0).history["loss"]).all()
    own = type(loss).get_config.__kreg_original__(loss)  # keras-cv's own get_config
    assert "bounding_box_format" not in own
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        losses.CIoULoss.from_config(own)
    ciou.save(tmp_path / "ciou.keras")
    assert keras.models.load_model(tmp_path / "ciou.keras").loss.bounding_box_format == "xyxy"

    # label-smoothing-alpha: all labels positive; alpha weighs them, unless smoothed.
    ones, probabilities = np.ones((2, 3), "float32"), np.full((2, 3), 0.7, "float32")

    def alpha_ratio(smoothing: float) -> float:
        low, high = (
            float(losses.FocalLoss(alpha=a, label_smoothing=smoothing)(ones, probabilities))
            for a in (0.25, 0.75)
        )
        return low / high

    assert alpha_ratio(0.0) == pytest.approx(1 / 3, rel=1e-4)
    assert alpha_ratio(0.1) == pytest.approx(3.0, rel=1e-4)  # (1 - alpha) for positives

    # l1-cutoff-jump: the loss falls as the error crosses l1_cutoff=2.
    errors = np.array([[1.99], [2.01]], "float32")
    values = losses.SmoothL1Loss(l1_cutoff=2.0, reduction=None)(np.zeros_like(errors), errors)
    assert np.asarray(values) == pytest.approx([1.98005, 1.51], abs=1e-4)

    # sample-weight-shape: (n,) weights fail, or weigh classes when batch_size == classes.
    heat = heatmaps()["y_true"]
    images = np.random.default_rng(1).normal(size=(4, 3, 3, 1)).astype("float32")
    conv = [keras.layers.Conv2D(2, 1, activation="sigmoid")]
    penalty = losses.BinaryPenaltyReducedFocalCrossEntropy
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 2 and 4"):
        _model((3, 3, 1), conv, penalty()).fit(
            images, heat, sample_weight=np.ones(4), batch_size=4, verbose=0
        )
    by_class = _model((3, 3, 1), conv, penalty())
    by_class.fit(images, heat, sample_weight=np.ones(4), batch_size=2, verbose=0)
    per_element = np.ones(heat.shape, "float32")
    _model((3, 3, 1), conv, penalty()).fit(
        images, heat, sample_weight=per_element, batch_size=4, verbose=0
    )

    # heading-floored: headings 1.1, 1.5 and 1.9 give the same loss, 2.1 another.
    box_loss = losses.CenterNetBoxLoss(num_heading_bins=4, anchor_size=[1.0, 1.0, 1.0])
    prediction = np.random.default_rng(0).normal(size=(1, 1, 14)).astype("float32")
    by_heading = [
        float(box_loss(np.array([[[0, 0, 0, 1, 1, 1, h]]], "float32"), prediction))
        for h in (1.1, 1.5, 1.9, 2.1)
    ]
    assert by_heading[0] == by_heading[1] == by_heading[2] != by_heading[3]


def _detections(n: int = 24) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Features (n, 6), multi-label classes (n, 3) and box targets (n, 4)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    classes = (x[:, :3] + 0.3 * rng.normal(size=(n, 3)) > 0).astype("float32")
    deltas = (x[:, 2:6] * 1.5 + 0.2 * rng.normal(size=(n, 4))).astype("float32")
    return x, {"classes": classes, "boxes": deltas}


def test_real_fit(tmp_path):
    """compile + fit a two-head model with focal and smooth L1 losses from kreg.get; saved,
    then loaded in a fresh process that imports kreg, without custom_objects."""
    import keras

    x, y = _detections()
    keras.utils.set_random_seed(0)
    features = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu")(features)
    outputs = {
        "classes": keras.layers.Dense(3, activation="sigmoid", name="classes")(hidden),
        "boxes": keras.layers.Dense(4, name="boxes")(hidden),
    }
    model = keras.Model(features, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss={"classes": _quietly("focal_loss", alpha=0.5), "boxes": _quietly("smooth_l1")},
    )
    weights = np.linspace(0.5, 1.5, len(x)).astype("float32")
    history = model.fit(x, y, sample_weight=weights, batch_size=8, epochs=5, verbose=0).history
    assert {"loss", "classes_loss", "boxes_loss"} <= set(history)
    assert history["loss"][-1] < history["loss"][0]

    evaluated = model.evaluate(x, y, sample_weight=weights, batch_size=8, return_dict=True)
    predictions = model.predict(x, verbose=0)
    focal = _quietly("focal_loss", alpha=0.5, reduction="sum")(
        y["classes"], predictions["classes"], sample_weight=weights
    )
    assert evaluated["classes_loss"] == pytest.approx(float(focal) / len(x), rel=1e-4)

    model.save(tmp_path / "detector.keras")
    np.savez(tmp_path / "data.npz", x=x, w=weights, **y)
    loaded = json_from_fresh_process(LOADER, str(tmp_path))
    assert loaded["losses"] == [["FocalLoss", 0.5], ["SmoothL1Loss", 1.0]]
    for key, value in evaluated.items():
        assert loaded["evaluation"][key] == pytest.approx(value, rel=1e-4), key


LOADER = """
    import json, sys
    import numpy as np
    import kreg  # its import hook registers plugin components with Keras: no custom_objects
    import keras

    model = keras.models.load_model(sys.argv[1] + "/detector.keras")
    data = np.load(sys.argv[1] + "/data.npz")
    y = {"classes": data["classes"], "boxes": data["boxes"]}
    evaluation = model.evaluate(
        data["x"], y, sample_weight=data["w"], batch_size=8, verbose=0, return_dict=True
    )
    focal, smooth = model.loss["classes"], model.loss["boxes"]
    print(json.dumps({
        "losses": [
            [type(focal).__name__, focal.alpha], [type(smooth).__name__, smooth.l1_cutoff]
        ],
        "evaluation": evaluation,
    }))
"""
