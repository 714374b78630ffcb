"""The kreg hooks of kreg-extra-keras-metrics (entry point ``kreg = extra_keras_metrics``).

extra-keras-metrics 2.0.14 exports 21 binary confusion-matrix metrics, all subclasses of
its ``BinaryMetric`` (four ``keras.metrics.Sum`` counters fed by ``round(clip(y, 0, 1))``,
so the threshold is 0.5 and 0.5 itself counts as negative), plus four ``get_*_metrics()``
helpers that return lists of metric objects. The metrics are registered here as lazy
``"module:Class"`` strings, so ``kreg list`` never imports TensorFlow; the helpers are not
metrics and are not registered.

What real Keras 3.15 / TensorFlow 2.21 does with them (the bridge's README has the table):
every metric trains in ``fit`` (graph mode, eager and XLA), streams, resets, honours
``sample_weight`` (given through ``weighted_metrics=``), and round-trips through a ``.keras``
file saved and loaded with kreg imported. The defects declared below are the real ones:
three wrong formulas, and labels of shape ``(batch,)`` against predictions of shape
``(batch, 1)`` broadcast to ``batch x batch`` pairs instead of being aligned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kreg import hookimpl

MODULE = "extra_keras_metrics"

RANK_DEFECT = {
    "label-rank": (
        "labels of shape (batch,) with predictions of shape (batch, 1) (a Dense(1) output) "
        "broadcast to batch x batch pairs and give wrong values without an error; "
        "pass labels shaped like the predictions, e.g. y.reshape(-1, 1)"
    )
}

# The one-line reasons of the three wrong formulas (checked against the textbook formula on
# counts tp=4, fp=1, tn=5, fn=2: the library returns 0.75, 0.7303 and 3.0 where the truth
# is 0.7303, 0.5 and 10.0).
WRONG_FORMULA = {
    "FowlkesMallowsIndex": (
        "computes the balanced accuracy (TPR + TNR) / 2, not the Fowlkes-Mallows index "
        "sqrt(PPV * TPR)"
    ),
    "Informedness": (
        "computes sqrt(PPV * TPR) (the Fowlkes-Mallows index), not informedness "
        "TPR + TNR - 1; use 2 * balanced_accuracy - 1 instead"
    ),
    "DiagnosticOddsRatio": (
        "computes (TPR + TNR) / (FPR + FNR), not the diagnostic odds ratio "
        "(TP * TN) / (FP * FN) = PLR / NLR"
    ),
}

# (class, name, aliases, which confusion cell the example's sample 0 is in). Sample 0 is
# the one the sample-weight check weighs 0: it must be a cell the metric depends on, or
# dropping it cannot change the result (specificity ignores TP and FN, for example).
METRICS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("balanced_accuracy:BalancedAccuracy", "balanced_accuracy", (), "tp"),
    ("f1score:F1Score", "binary_f1_score", (), "tp"),
    (
        "matthews_correlation_coefficient:MatthewsCorrelationCoefficient",
        "binary_matthews_correlation",
        ("binary_mcc",),
        "tp",
    ),
    ("true_positives_ratio:TruePositivesRatio", "true_positives_ratio", (), "tp"),
    ("false_positives_ratio:FalsePositivesRatio", "false_positives_ratio", (), "tp"),
    ("true_negatives_ratio:TrueNegativesRatio", "true_negatives_ratio", (), "tp"),
    ("false_negatives_ratio:FalseNegativesRatio", "false_negatives_ratio", (), "tp"),
    ("specificity:Specificity", "specificity", ("true_negative_rate", "tnr"), "fp"),
    ("miss_rate:MissRate", "miss_rate", ("false_negative_rate", "fnr"), "tp"),
    ("fallout:FallOut", "fall_out", ("false_positive_rate", "fpr"), "fp"),
    (
        "negative_predictive_value:NegativePredictiveValue",
        "negative_predictive_value",
        ("npv",),
        "fn",
    ),
    ("false_discovery_rate:FalseDiscoveryRate", "false_discovery_rate", ("fdr",), "tp"),
    ("false_omission_rate:FalseOmissionRate", "false_omission_rate", (), "fn"),
    ("prevalence_threshold:PrevalenceThreshold", "prevalence_threshold", (), "tp"),
    ("threat_score:ThreatScore", "threat_score", ("critical_success_index",), "tp"),
    ("fowlkes_mallows_index:FowlkesMallowsIndex", "fowlkes_mallows_index", (), "tp"),
    ("informedness:Informedness", "informedness", (), "tp"),
    ("markedness:Markedness", "markedness", (), "tp"),
    ("positive_likelihood_ratio:PositiveLikelihoodRatio", "positive_likelihood_ratio", (), "tp"),
    ("negative_likelihood_ratio:NegativeLikelihoodRatio", "negative_likelihood_ratio", (), "tp"),
    ("diagnostic_odds_ratio:DiagnosticOddsRatio", "diagnostic_odds_ratio", (), "tp"),
)

# One (label, probability) pair per confusion cell; the example's 8 samples hold
# tp=3, fp=1, fn=2, tn=2 (no 0.5: the library rounds it to 0).
_CELLS = {"tp": (1.0, 0.9), "fp": (0.0, 0.8), "fn": (1.0, 0.3), "tn": (0.0, 0.2)}
_ORDER = ("tp", "fp", "fn", "tn", "tp", "fn", "tp", "tn")
_PROBABILITIES = (0.9, 0.8, 0.3, 0.2, 0.7, 0.35, 0.6, 0.1)


def binary_example(first: str = "tp") -> dict[str, Any]:
    """Labels and probabilities, shape (8, 1), with sample 0 in the confusion cell ``first``.

    Example:
        >>> data = binary_example("fp")
        >>> data["y_true"][:3, 0].tolist(), [round(float(p), 2) for p in data["y_pred"][:3, 0]]
        ([0.0, 1.0, 1.0], [0.8, 0.9, 0.3])
    """
    import numpy as np

    order = list(range(len(_ORDER)))
    swap = _ORDER.index(first)
    order[0], order[swap] = order[swap], order[0]
    labels = [_CELLS[_ORDER[i]][0] for i in order]
    probabilities = [_PROBABILITIES[i] for i in order]
    return {
        "y_true": np.array(labels, "float32")[:, None],
        "y_pred": np.array(probabilities, "float32")[:, None],
    }


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    """The 21 metrics of extra-keras-metrics, lazily, each with its known defects."""
    for target, name, aliases, first in METRICS:
        module, _, cls = target.partition(":")
        defects = dict(RANK_DEFECT)
        if cls in WRONG_FORMULA:
            defects["wrong-formula"] = WRONG_FORMULA[cls]
        register(
            f"{MODULE}.{module}:{cls}",
            name,
            aliases=aliases,
            example=functools.partial(binary_example, first),
            tags=("confusion", "binary"),
            defects=defects,
            expects={"y_true": "binary", "y_pred": "any", "task": "classification"},
        )
