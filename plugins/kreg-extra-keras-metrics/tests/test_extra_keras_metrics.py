"""kreg-extra-keras-metrics as users get it: discovered, checked against the truth, trained.

The truth comes from real Keras 3.15 / TensorFlow 2.21 runs (see the README): every metric
of extra-keras-metrics 2.0.14 trains in fit() (graph, eager and XLA), streams, resets,
honours sample_weight and round-trips through a .keras file with kreg imported. Labels of
shape (batch,) against a (batch, 1) output give wrong values (kreg's label_rank check
fails each one); three formulas are wrong, which no check can see. The declared defects
are asserted to be real here, and to show in kreg's report.
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
)

PLUGIN = "extra_keras_metrics"

# Every metric: labels of shape (batch,) against predictions of shape (batch, 1) broadcast
# to batch x batch pairs. Real Keras: evaluate(x, y) with y.shape == (64,) and a Dense(1)
# sigmoid output reports F1 0.449 where the same model's F1 on y.reshape(-1, 1) is 0.542,
# with no error, in graph mode and eagerly (Keras's own metrics align the ranks first).
# kreg's label_rank check feeds (batch,) labels and fails every entry.
RANK = ("label-rank",)
# Wrong formulas, on counts tp=4, fp=1, tn=5, fn=2 (see test_declared_defects_are_real).
FORMULA = ("wrong-formula",)

# entry name: (kreg verdict the truth calls for, checks that must fail, declared defects)
TRUTH: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "balanced_accuracy": ("failed", ("label_rank",), RANK),
    "binary_f1_score": ("failed", ("label_rank",), RANK),
    "binary_matthews_correlation": ("failed", ("label_rank",), RANK),
    "true_positives_ratio": ("failed", ("label_rank",), RANK),
    "false_positives_ratio": ("failed", ("label_rank",), RANK),
    "true_negatives_ratio": ("failed", ("label_rank",), RANK),
    "false_negatives_ratio": ("failed", ("label_rank",), RANK),
    "specificity": ("failed", ("label_rank",), RANK),
    "miss_rate": ("failed", ("label_rank",), RANK),
    "fall_out": ("failed", ("label_rank",), RANK),
    "negative_predictive_value": ("failed", ("label_rank",), RANK),
    "false_discovery_rate": ("failed", ("label_rank",), RANK),
    "false_omission_rate": ("failed", ("label_rank",), RANK),
    "prevalence_threshold": ("failed", ("label_rank",), RANK),
    "threat_score": ("failed", ("label_rank",), RANK),
    # Real Keras: 0.75 = (TPR + TNR) / 2, the balanced accuracy; the index sqrt(PPV * TPR)
    # is 0.7303. It streams, weighs and saves correctly: no check can see the formula.
    "fowlkes_mallows_index": ("failed", ("label_rank",), RANK + FORMULA),
    # Real Keras: 0.7303 = sqrt(PPV * TPR), the Fowlkes-Mallows index; TPR + TNR - 1 is 0.5.
    "informedness": ("failed", ("label_rank",), RANK + FORMULA),
    "markedness": ("failed", ("label_rank",), RANK),
    "positive_likelihood_ratio": ("failed", ("label_rank",), RANK),
    "negative_likelihood_ratio": ("failed", ("label_rank",), RANK),
    # Real Keras: 3.0 = (TPR + TNR) / (FPR + FNR); (TP * TN) / (FP * FN) is 10.0.
    "diagnostic_odds_ratio": ("failed", ("label_rank",), RANK + FORMULA),
}


_report = functools.cache(check_quietly)


def _quietly(name: str) -> object:
    return get_quietly(f"{PLUGIN}:{name}")


def test_discovered_through_its_entry_point():
    info = next(p for p in kreg.plugins() if p.name == PLUGIN)
    assert info.status == "ok", info.error
    assert info.source == "entry point of kreg-extra-keras-metrics"
    assert {k: n for k, n in info.counts.items() if n} == {"metric": 21}
    assert sorted(e.name for e in kreg.entries("metric") if e.plugin == PLUGIN) == sorted(TRUTH)
    assert kreg.lookup("binary_mcc").qualified_name == f"{PLUGIN}:binary_matthews_correlation"
    assert kreg.lookup("npv").qualified_name == f"{PLUGIN}:negative_predictive_value"
    # The class names F1Score and MatthewsCorrelationCoefficient stay with the earlier providers.
    assert kreg.lookup("F1Score").qualified_name == "keras:f1_score"
    assert kreg.lookup("MatthewsCorrelationCoefficient").plugin == "contrib"
    for name, (_, _, defects) in TRUTH.items():
        assert tuple(tag for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects) == defects


def test_listing_imports_nothing():
    """`import kreg` and listing the bridge's entries import neither the library nor TF."""
    assert_listing_imports_nothing(PLUGIN, 21, ["extra_keras_metrics"])


@each_entry(PLUGIN)
def test_verdicts(entry):
    """kreg's verdict and every check's outcome: the truth has each check pass but ``failing``."""
    verdict, failing, defects = TRUTH[entry.name]
    assert_verdict(_report(entry.qualified_name), verdict, failing, defects=defects)


@pytest.mark.parametrize("name", [n for n, (_, _, d) in TRUTH.items() if FORMULA[0] in d])
def test_check_report_shows_declared_defects(name):
    """kreg.get's warning says "`kreg check ...` shows it": the report must name each defect."""
    report = _report(f"{PLUGIN}:{name}")
    for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects:
        assert tag in str(report), f"{tag!r} is not in the text report:\n{report}"
        assert tag in json.dumps(report.as_dict()), f"{tag!r} is not in the JSON report"


def test_declared_defects_are_real():
    """The textbook formulas against the library on counts tp=4, fp=1, tn=5, fn=2."""
    y_true = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0], "float32")[:, None]
    y_pred = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.6, 0.3, 0.2, 0.1, 0.05, 0.95, 0.4], "float32")
    y_pred = y_pred[:, None]

    def result(name, labels=y_true):
        metric = _quietly(name)
        metric.update_state(labels, y_pred)
        return float(metric.result())

    tp, fp, tn, fn = 4, 1, 5, 2
    tpr, tnr, ppv = tp / (tp + fn), tn / (tn + fp), tp / (tp + fp)
    textbook = {
        "fowlkes_mallows_index": np.sqrt(ppv * tpr),
        "informedness": tpr + tnr - 1,
        "diagnostic_odds_ratio": tp * tn / (fp * fn),
    }
    computed = {
        "fowlkes_mallows_index": (tpr + tnr) / 2,
        "informedness": np.sqrt(ppv * tpr),
        "diagnostic_odds_ratio": (tpr + tnr) / ((1 - tnr) + (1 - tpr)),
    }
    for name, truth in textbook.items():
        got = result(name)
        assert got == pytest.approx(computed[name], rel=1e-4), name
        assert got != pytest.approx(truth, rel=1e-2), f"{name} is right now: drop the defect"
    assert result("balanced_accuracy") == pytest.approx((tpr + tnr) / 2, rel=1e-4)
    # label-rank: the same labels as a (batch,) vector give another value, for every metric.
    flat = [n for n in TRUTH if result(n, y_true[:, 0]) == pytest.approx(result(n), rel=1e-4)]
    assert flat == [], f"labels of shape (batch,) give the right value for {flat}"


def test_real_fit():
    """compile + fit with weighted metrics from kreg.get; evaluate equals update_state."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")  # (48, 1), like the output
    weights = rng.uniform(0.2, 2.0, 48).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    mcc, specificity = _quietly("binary_matthews_correlation"), _quietly("specificity")
    model.compile(optimizer="adam", loss="binary_crossentropy", weighted_metrics=[mcc, specificity])
    history = model.fit(x, y, sample_weight=weights, batch_size=16, epochs=2, verbose=0).history
    assert set(history) == {"loss", "MatthewsCorrelationCoefficient", "Specificity"}
    assert all(np.isfinite(v).all() for v in history.values())

    evaluated = model.evaluate(x, y, sample_weight=weights, batch_size=16, return_dict=True)
    predictions = model.predict(x, verbose=0)
    for key, name in [("MatthewsCorrelationCoefficient", "binary_mcc"), ("Specificity", "tnr")]:
        metric = _quietly(name)
        metric.update_state(y, predictions, weights)
        assert evaluated[key] == pytest.approx(float(metric.result()), rel=1e-4, abs=1e-6), key
