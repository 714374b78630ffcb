"""What every Keras loss and metric expects of the data, in one table (see :mod:`.expects`).

``tests/unit/test_registry.py`` fails when a Keras loss or metric has no row here, so a
new Keras version cannot add one unseen. Where a component accepts several forms (a
threshold the user can move, predicted ids or scores), ``y_pred`` is ``any``:
preflight must never guess its way into a false alarm.
"""

from __future__ import annotations

from kreg.registry.expects import Expects

_BCE = Expects("binary", "probabilities", "classification", logits="from_logits")
_CCE = Expects("one_hot", "distribution", "classification", logits="from_logits")
_SCCE = Expects("class_ids", "distribution", "classification", logits="from_logits")
_REGRESSION = Expects("real", "real", "regression")
_COUNTS = Expects("non_negative", "non_negative", "regression")
_KLD = Expects("distribution", "distribution")
_HINGE = Expects("signed", "real", "classification")
_THRESHOLDED = Expects("binary", "any", "classification")
_AT_THRESHOLDS = Expects("binary", "probabilities", "classification")

LOSSES: dict[str, Expects] = {
    "binary_crossentropy": _BCE,
    "binary_focal_crossentropy": _BCE,
    "categorical_crossentropy": _CCE,
    "categorical_focal_crossentropy": _CCE,
    "categorical_generalized_cross_entropy": Expects("class_ids", "distribution", "classification"),
    "sparse_categorical_crossentropy": _SCCE,
    "categorical_hinge": Expects("one_hot", "real", "classification"),
    "hinge": _HINGE,
    "squared_hinge": _HINGE,
    "circle": Expects("any", "any", "ranking"),
    "cosine_similarity": Expects("real", "real"),
    "ctc": Expects("any", "any"),
    "dice": Expects("binary", "probabilities"),
    "tversky": Expects("binary", "probabilities"),
    "huber": _REGRESSION,
    "log_cosh": _REGRESSION,
    "mean_absolute_error": _REGRESSION,
    "mean_absolute_percentage_error": _REGRESSION,
    "mean_squared_error": _REGRESSION,
    "mean_squared_logarithmic_error": _COUNTS,
    "kl_divergence": _KLD,
    "poisson": _COUNTS,
}
"""Keras's losses by canonical name."""

METRICS: dict[str, Expects] = {
    "accuracy": Expects("any", "any", "classification"),
    "exact_accuracy": Expects("any", "any", "classification"),
    "auc": Expects("binary", "probabilities", "classification", logits="from_logits"),
    "binary_accuracy": _THRESHOLDED,
    "binary_crossentropy": _BCE,
    "binary_iou": _THRESHOLDED,
    "categorical_accuracy": Expects("one_hot", "any", "classification"),
    "categorical_crossentropy": _CCE,
    "categorical_hinge": Expects("one_hot", "real", "classification"),
    "concordance_correlation": _REGRESSION,
    "pearson_correlation": _REGRESSION,
    "r2_score": _REGRESSION,
    "cosine_similarity": Expects("real", "real"),
    "f1_score": Expects("multi_hot", "any", "classification"),
    "f_beta_score": Expects("multi_hot", "any", "classification"),
    "false_negatives": _THRESHOLDED,
    "false_positives": _THRESHOLDED,
    "true_negatives": _THRESHOLDED,
    "true_positives": _THRESHOLDED,
    "precision": _THRESHOLDED,
    "recall": _THRESHOLDED,
    "precision_at_recall": _AT_THRESHOLDS,
    "recall_at_precision": _AT_THRESHOLDS,
    "sensitivity_at_specificity": _AT_THRESHOLDS,
    "specificity_at_sensitivity": _AT_THRESHOLDS,
    "hinge": _HINGE,
    "squared_hinge": _HINGE,
    "iou": Expects("class_ids", "any", "classification"),
    "mean_iou": Expects("class_ids", "any", "classification"),
    "one_hot_iou": Expects("one_hot", "any", "classification"),
    "one_hot_mean_iou": Expects("one_hot", "any", "classification"),
    "kl_divergence": _KLD,
    "log_cosh_error": _REGRESSION,
    "mean_absolute_error": _REGRESSION,
    "mean_absolute_percentage_error": _REGRESSION,
    "mean_squared_error": _REGRESSION,
    "root_mean_squared_error": _REGRESSION,
    "mean_squared_logarithmic_error": _COUNTS,
    "poisson": _COUNTS,
    "sparse_categorical_accuracy": Expects("class_ids", "any", "classification"),
    "sparse_categorical_crossentropy": _SCCE,
    "sparse_top_k_categorical_accuracy": Expects("class_ids", "any", "classification"),
    "top_k_categorical_accuracy": Expects("one_hot", "any", "classification"),
}
"""Keras's metrics by canonical name (``accuracy`` is kreg's shape-aware choice)."""

BUILTIN_EXPECTS: dict[str, dict[str, Expects]] = {"loss": LOSSES, "metric": METRICS}
