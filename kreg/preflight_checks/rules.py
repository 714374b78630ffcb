"""Every preflight rule, in the order their findings are listed.

Each rule fires only on what it knows: an unknown activation, an unsampled ``y`` or an
undeclared component gives no finding. Losses give errors (they decide what is learnt);
metrics give warnings (they only misreport).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kreg.preflight_checks.case import Case
from kreg.preflight_checks.finding import Finding
from kreg.preflight_checks.rules_outputs import (
    distribution_after_sigmoid,
    logits_on_probabilities,
    negative_predictions,
    probabilities_on_unbounded,
    softmax_one_unit,
)
from kreg.preflight_checks.rules_targets import (
    accuracy_on_regression,
    binary_checks,
    broadcast_targets,
    class_ids_checks,
    class_weight_keys,
    one_hot_checks,
    signed_checks,
    targets_out_of_range,
)

Rule = Callable[[Case], Iterator[Finding]]

RULES: tuple[Rule, ...] = (
    softmax_one_unit,
    logits_on_probabilities,
    probabilities_on_unbounded,
    distribution_after_sigmoid,
    class_ids_checks,
    one_hot_checks,
    binary_checks,
    signed_checks,
    targets_out_of_range,
    negative_predictions,
    broadcast_targets,
    accuracy_on_regression,
    class_weight_keys,
)
"""Every rule, in the order their findings are listed."""
