"""kreg-keras-rs as users get it: discovered, checked against the truth, trained, saved.

The truth comes from real Keras 3.15 / TensorFlow 2.21 runs with keras-rs 0.4.0 (see the
README): every loss and metric trains in fit() (graph mode, run_eagerly and XLA), gives
the same values traced as eagerly, streams, resets and round-trips through a .keras file
loaded in a fresh process that imports kreg. Its real defects are in the TRUTH table.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import kreg
from kreg.testing import (
    assert_listing_imports_nothing,
    assert_verdict,
    check_quietly,
    each_entry,
    get_quietly,
    json_from_fresh_process,
)

PLUGIN = "keras_rs"

# call() returns one loss per item, shape (batch, list_size), and Keras multiplies
# sample_weight into it as it is. Real Keras: fit(x, y, sample_weight=w) with w.shape ==
# (24,) and batch_size=4 raises "ValueError: Dimensions must be equal, but are 5 and 4 for
# '{{node compile_loss/pairwise_hinge_loss/mul_2}} ...' with input shapes: [4,5], [4]";
# with batch_size == list_size it trains, weighting items by their position in the list.
# Weights of shape (24, 5) work. kreg's sample_weight check must fail on it.
WEIGHTS = ("sample-weight-shape",)
# Every component: y_true={"labels": ..., "mask": ...} works when called, but fit() with
# it raises "ValueError: y_true and y_pred have different structures. y_true: {'labels':
# '*', 'mask': '*'} y_pred: *" (Keras's compile_utils); label -1 marks padding instead.
# No kreg check runs fit(): the verdict stays ok.
DICT = ("dict-y-true-in-fit",)
# Every metric is a keras.metrics.Mean subclass that keeps Mean's name: NDCG().name ==
# "mean", fit() logs "mean", and a second keras-rs metric "mean_1". No check looks at it.
NAME = ("default-name",)

# entry name: (kreg verdict the truth calls for, checks that must fail, declared defects)
TRUTH: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # Real Keras: one loss per list, shape (batch,); fit with (n,) weights, weight 0 drops
    # the list; traced, XLA and mixed_float16 values equal eager ones.
    "list_mle": ("ok", (), DICT),
    "pairwise_hinge": ("failed", ("sample_weight",), DICT + WEIGHTS),
    "pairwise_logistic": ("failed", ("sample_weight",), DICT + WEIGHTS),
    "pairwise_mean_squared_error": ("failed", ("sample_weight",), DICT + WEIGHTS),
    "pairwise_soft_zero_one": ("failed", ("sample_weight",), DICT + WEIGHTS),
    # Real Keras: graph-mode evaluate() equals update_state on the predictions, with and
    # without (n,) or (n, list_size) weights; two updates equal one; weight 0 drops a list.
    "dcg": ("ok", (), DICT + NAME),
    "ndcg": ("ok", (), DICT + NAME),
    "mean_average_precision": ("ok", (), DICT + NAME),
    "mean_reciprocal_rank": ("ok", (), DICT + NAME),
    "precision_at_k": ("ok", (), DICT + NAME),
    "recall_at_k": ("ok", (), DICT + NAME),
}


# The checks the truth speaks for: each must run (not be skipped) on the example.
_report = functools.cache(check_quietly)


def _quietly(component: str, **config: object) -> object:
    return get_quietly(f"{PLUGIN}:{component}", **config)


def test_discovered_through_its_entry_point():
    info = next(p for p in kreg.plugins() if p.name == PLUGIN)
    assert info.status == "ok", info.error
    assert info.source == "entry point of kreg-keras-rs"
    assert {k: n for k, n in info.counts.items() if n} == {"loss": 5, "metric": 6}
    assert sorted(e.name for e in kreg.entries() if e.plugin == PLUGIN) == sorted(TRUTH)
    assert kreg.lookup("PairwiseHingeLoss").qualified_name == f"{PLUGIN}:pairwise_hinge"
    assert kreg.lookup("ListMLELoss").qualified_name == f"{PLUGIN}:list_mle"
    assert kreg.lookup("mrr").qualified_name == f"{PLUGIN}:mean_reciprocal_rank"
    assert kreg.lookup("NDCG").qualified_name == f"{PLUGIN}:ndcg"
    for name, (_, _, defects) in TRUTH.items():
        declared = tuple(tag for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects)
        assert declared == tuple(sorted(defects)), name


def test_listing_imports_nothing():
    """`import kreg` and listing the bridge's entries import neither the library nor TF."""
    assert_listing_imports_nothing(PLUGIN, 11, ["keras_rs"])


@each_entry(PLUGIN)
def test_verdicts(entry):
    """kreg's verdict and every check's outcome: the truth has each check pass but ``failing``."""
    verdict, failing, defects = TRUTH[entry.name]
    assert_verdict(_report(entry.qualified_name), verdict, failing, defects=defects)


@pytest.mark.parametrize("name", list(TRUTH))
def test_check_report_shows_declared_defects(name):
    """kreg.get's warning says "`kreg check ...` shows it": the report must name each defect."""
    report = _report(f"{PLUGIN}:{name}")
    for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects:
        assert tag in str(report), f"{tag!r} is not in the text report:\n{report}"
        assert tag in json.dumps(report.as_dict()), f"{tag!r} is not in the JSON report"


def _lists(n: int = 24, size: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, size, 3) and graded labels (n, size) in 0..3, every 4th list padded."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, size, 3)).astype("float32")
    y = np.clip(np.round(x @ np.array([1.0, -0.5, 0.3], "float32") + 1.0), 0, 3) + 0.0  # no -0.0
    y[::4, -1] = -1.0  # padding: keras-rs ignores items labelled below 0
    return x, y.astype("float32")


def _ranker():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((5, 3)), keras.layers.Dense(1), keras.layers.Reshape((5,))]
    )


def test_declared_defects_are_real():
    """Each declared defect, shown on keras-rs itself: drop the declaration once it is fixed."""
    x, y = _lists()
    scores = x[:, :, 0]
    per_list = np.linspace(0.0, 1.0, len(y)).astype("float32")
    # sample-weight-shape: (batch,) weights fail for batch != list_size...
    hinge = _quietly("pairwise_hinge", reduction="sum")
    with pytest.raises(Exception, match="Incompatible shapes"):
        hinge(y, scores, sample_weight=per_list)
    # ...and weigh items by position when batch == list_size, unlike per-list weights.
    by_position = float(hinge(y[:5], scores[:5], sample_weight=per_list[:5]))
    by_list = float(hinge(y[:5], scores[:5], sample_weight=np.repeat(per_list[:5, None], 5, 1)))
    assert by_position != pytest.approx(by_list, rel=1e-3)
    # ListMLE returns one loss per list: (batch,) weights are right, weight 0 drops a list.
    mle = _quietly("list_mle", reduction="sum")
    dropped = np.r_[0.0, np.ones(len(y) - 1)].astype("float32")
    assert float(mle(y, scores, sample_weight=dropped)) == pytest.approx(
        float(mle(y[1:], scores[1:])), rel=1e-5
    )
    # default-name: every metric is called "mean".
    assert {_quietly(n).name for n, (_, _, d) in TRUTH.items() if NAME[0] in d} == {"mean"}
    # dict-y-true-in-fit: fine when called, refused by fit().
    masked = {"labels": y, "mask": y >= 0}
    assert np.isfinite(float(_quietly("pairwise_hinge")(masked, scores)))
    model = _ranker()
    model.compile(optimizer="sgd", loss=_quietly("pairwise_hinge"))
    with pytest.raises(ValueError, match="different structures"):
        model.fit(x, masked, batch_size=4, epochs=1, verbose=0)


def test_real_fit(tmp_path):
    """compile + fit with components from kreg.get; saved, then loaded in a fresh process."""
    x, y = _lists()
    model = _ranker()
    model.compile(
        optimizer="adam",
        loss=_quietly("list_mle"),
        weighted_metrics=[_quietly("ndcg", name="ndcg"), _quietly("mrr", name="mrr")],
    )
    weights = np.linspace(0.5, 1.5, len(y)).astype("float32")
    history = model.fit(x, y, sample_weight=weights, batch_size=4, epochs=3, verbose=0).history
    assert set(history) == {"loss", "ndcg", "mrr"}
    assert history["loss"][-1] < history["loss"][0]

    evaluated = model.evaluate(
        x, y, sample_weight=weights, batch_size=4, verbose=0, return_dict=True
    )
    predictions = model.predict(x, verbose=0)
    for key in ("ndcg", "mrr"):
        metric = _quietly(key)
        metric.update_state(y, predictions, sample_weight=weights)
        assert evaluated[key] == pytest.approx(float(metric.result()), rel=1e-5), key

    model.save(tmp_path / "ranker.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y, w=weights)
    loaded = json_from_fresh_process(LOADER, str(tmp_path))
    assert loaded["loss"] == ["ListMLELoss", model.loss.name, 1.0]
    assert loaded["metrics"] == ["NDCG", "MeanReciprocalRank"]
    for key, value in evaluated.items():
        assert loaded["evaluation"][key] == pytest.approx(value, rel=1e-5), key


LOADER = """
    import json, sys
    import numpy as np
    import kreg  # its import hook registers plugin components with Keras: no custom_objects
    import keras

    model = keras.models.load_model(sys.argv[1] + "/ranker.keras")
    data = np.load(sys.argv[1] + "/data.npz")
    evaluation = model.evaluate(
        data["x"], data["y"], sample_weight=data["w"], batch_size=4, verbose=0, return_dict=True
    )
    config = model.loss.get_config()
    print(json.dumps({
        "loss": [type(model.loss).__name__, config["name"], config["temperature"]],
        "metrics": [type(m).__name__ for m in model.metrics[1].metrics],
        "evaluation": evaluation,
    }))
"""
