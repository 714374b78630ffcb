"""Rules about the outputs: their activation and units against the losses and metrics."""

from __future__ import annotations

from collections.abc import Iterator

from kreg.preflight_checks.case import (
    EPS,
    Case,
    finding,
    replace,
)
from kreg.preflight_checks.finding import Finding

BOUNDED_01 = ("sigmoid", "hard_sigmoid", "softmax")


def logits_on_probabilities(case: Case) -> Iterator[Finding]:
    """``from_logits=True`` on an output that already ends in softmax or sigmoid."""
    activation = case.output.activation
    if activation not in BOUNDED_01:
        return
    for c in case.components:
        if c.y_pred == "logits":
            yield finding(
                case,
                c,
                "logits-on-probabilities",
                f"{c.name} has {c.expects.logits}=True, but the output already ends in "
                f"{activation}: the {activation} is applied twice, the gradients shrink and "
                "training stalls (Keras only warns, in a log line)",
                f"{replace(c, c.call(**{str(c.expects.logits): False}))} (or drop the "
                f"output's activation={activation!r})",
            )


def probabilities_on_unbounded(case: Case) -> Iterator[Finding]:
    """Probabilities expected, but the output can leave [0, 1] (linear, relu, tanh...)."""
    output, bounds = case.output, case.output.value_range
    if bounds is None or (bounds[0] >= -EPS and bounds[1] <= 1 + EPS):
        return
    for c in case.components:
        if c.y_pred not in ("probabilities", "distribution"):
            continue
        if c.expects.logits:
            fix = replace(c, c.call(**{c.expects.logits: True}))
        else:
            if c.y_pred == "distribution":
                fix = 'end the output with activation="softmax"'
            elif (output.units or 1) > 1:
                fix = 'end the output with activation="softmax" (or "sigmoid" if multi-label)'
            else:
                fix = 'end the output with activation="sigmoid"'
        effect = (
            "Keras clips them and the loss stays flat"
            if c.kind == "loss"
            else "the metric is meaningless"
        )
        yield finding(
            case,
            c,
            "probabilities-on-unbounded",
            f"{c.name} expects {c.y_pred} in [0, 1], but the output ends in "
            f"{output.activation}, whose values are not probabilities: {effect}",
            fix,
        )


def softmax_one_unit(case: Case) -> Iterator[Finding]:
    """A softmax over one unit is always 1.0."""
    if case.output.activation == "softmax" and case.output.units == 1:
        yield Finding(
            "error",
            "softmax-one-unit",
            "the output is a softmax over 1 unit: it is always 1.0, whatever the input, so "
            "the model cannot learn (binary labels need a sigmoid)",
            'Dense(1, activation="sigmoid") as the last layer, with loss = binary_crossentropy',
            case.output.name,
        )


def distribution_after_sigmoid(case: Case) -> Iterator[Finding]:
    """A categorical loss on independent sigmoids."""
    output = case.output
    if output.activation not in ("sigmoid", "hard_sigmoid") or (output.units or 0) < 2:
        return
    for c in case.losses:
        if c.y_pred == "distribution":
            yield Finding(
                "warning",
                "categorical-after-sigmoid",
                f"{c.name} expects a distribution over the {output.units} units (softmax), but "
                "the output is independent sigmoids that do not sum to 1",
                'activation="softmax" on the last layer (or loss = binary_crossentropy '
                "for multi-label targets)",
                output.name,
            )


def negative_predictions(case: Case) -> Iterator[Finding]:
    """Non-negative predictions expected (poisson, msle), but the output can go negative."""
    bounds = case.output.value_range
    if bounds is None or bounds[0] >= -EPS:
        return
    for c in case.components:
        if c.y_pred == "non_negative":
            yield finding(
                case,
                c,
                "negative-predictions",
                f"{c.name} takes the log of the predictions, but the output ends in "
                f"{case.output.activation} and can go negative: NaN or a clipped, flat loss",
                'activation="softplus" (or "exponential") on the last layer',
            )
