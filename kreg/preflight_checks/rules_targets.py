"""Rules about the targets: a sample of ``y`` against what each loss and metric expects."""

from __future__ import annotations

from collections.abc import Iterator

from kreg.cell.spec import has_type
from kreg.preflight_checks.case import (
    EPS,
    Case,
    finding,
    integer_key,
    listed,
    replace,
    shape_of,
    with_config,
)
from kreg.preflight_checks.finding import Finding


def class_ids_checks(case: Case) -> Iterator[Finding]:
    """Class ids: one-hot rows given instead, or ids beyond the output's units."""
    t, units = case.targets, case.output.units
    if t is None:
        return
    for c in case.components:
        if c.expects.y_true != "class_ids":
            continue
        if t.last is not None and t.last > 1 and t.probability_rows:
            new = c.name.replace("sparse_", "", 1)
            yield finding(
                case,
                c,
                "one-hot-with-sparse",
                f"{c.name} expects integer class ids of shape (n,) or (n, 1), but y holds "
                f"one-hot rows of width {t.last}",
                f"{replace(c, with_config(c, new))} (or y = y.argmax(axis=-1))",
            )
        elif t.integer_valued and t.low < 0:
            yield finding(
                case,
                c,
                "negative-class-ids",
                f"{c.name} expects class ids 0..C-1, but y holds {t.low:g}",
                "map the labels to 0..C-1 first (e.g. np.unique(y, return_inverse=True)[1])",
            )
        elif t.integer_valued and units and t.high >= units:
            count = int(t.high) + 1
            yield finding(
                case,
                c,
                "too-few-units",
                f"y holds class ids up to {int(t.high)} ({count} classes), but the output has "
                f"{units} units: ids {units}..{int(t.high)} have no unit (Keras fails with "
                "'label value outside the valid range', or on GPU silently gives NaN)",
                f"Dense({count}, ...) as the last layer",
            )


def one_hot_checks(case: Case) -> Iterator[Finding]:
    """One-hot rows expected: integer ids given, or rows of the wrong width."""
    t, units = case.targets, case.output.units
    if t is None or not units or units < 2:
        return
    for c in case.components:
        if c.expects.y_true != "one_hot":
            continue
        if t.integer_valued and (t.last is None or t.last == 1) and not t.probability_rows:
            sparse = "sparse_" + c.name if not c.name.startswith("sparse_") else c.name
            yield finding(
                case,
                c,
                "ids-with-categorical",
                f"{c.name} expects one-hot rows of width {units}, but y holds integer class "
                f"ids of shape {shape_of(t)}"
                + (
                    ": Keras broadcasts them against every unit and trains on nonsense"
                    if t.last == 1
                    else ": Keras fails with 'target and output must have the same rank'"
                ),
                f"{replace(c, with_config(c, sparse))} (or y = keras.utils.to_categorical(y, "
                f"{units}))",
            )
        elif (
            t.last is not None
            and t.last > 1
            and t.last != units
            and t.rank == len(case.output.shape or ())
        ):
            yield finding(
                case,
                c,
                "one-hot-width",
                f"y's rows have width {t.last}, but the output has {units} units",
                f"Dense({t.last}, ...) as the last layer",
            )


def binary_checks(case: Case) -> Iterator[Finding]:
    """0/1 labels expected: ±1 labels, several class ids into one unit, or other values."""
    t, units = case.targets, case.output.units
    if t is None:
        return
    for c in case.components:
        if c.expects.y_true not in ("binary", "multi_hot") or t.in_unit_interval:
            continue
        if t.signed:
            yield finding(
                case,
                c,
                "signed-labels",
                f"{c.name} expects 0/1 labels, but y holds -1/+1: "
                + (
                    "the -1 labels make the loss negative and unbounded"
                    if c.kind == "loss"
                    else "the -1 labels are never counted right"
                ),
                "y = (y + 1) / 2 (or loss = hinge, which takes -1/+1)",
            )
        elif t.classes is not None and t.low >= 0 and len(t.classes) > 2 and units == 1:
            count = max(t.classes) + 1
            yield finding(
                case,
                c,
                "multiclass-into-binary",
                f"y holds {len(t.classes)} class ids ({listed(t.classes)}), but {c.name} and "
                "the output's single unit can only tell 2 classes apart",
                f'Dense({count}, activation="softmax") with loss = sparse_categorical_crossentropy',
            )
        else:
            yield finding(
                case,
                c,
                "targets-not-binary",
                f"{c.name} expects labels in [0, 1], but y ranges over [{t.low:g}, {t.high:g}]",
                "a regression loss such as loss = mean_squared_error, or scale y into [0, 1]",
            )


def signed_checks(case: Case) -> Iterator[Finding]:
    """Hinge losses: labels other than ±1 and 0/1."""
    t = case.targets
    if t is None or t.classes is None:
        return
    for c in case.components:
        if c.expects.y_true == "signed" and not set(t.classes) <= {-1, 0, 1}:
            yield finding(
                case,
                c,
                "targets-not-signed",
                f"{c.name} expects -1/+1 (or 0/1) labels, but y holds {listed(t.classes)}",
                "loss = sparse_categorical_crossentropy for class ids, or labels in {-1, +1}",
            )


def targets_out_of_range(case: Case) -> Iterator[Finding]:
    """Real or non-negative targets that the output's activation cannot produce."""
    t, output, bounds = case.targets, case.output, case.output.value_range
    if t is None:
        return
    for c in case.losses:
        if c.expects.y_true not in ("real", "non_negative"):
            continue
        if c.expects.y_true == "non_negative" and t.low < -EPS:
            yield finding(
                case,
                c,
                "negative-targets",
                f"{c.name} expects non-negative targets, but y goes down to {t.low:g}",
                "loss = mean_squared_error (or shift y to be non-negative)",
            )
            continue
        if bounds is None or (output.activation == "softmax" and t.in_unit_interval):
            continue
        low, high = bounds
        if t.low < low - EPS or t.high > high + EPS:
            yield finding(
                case,
                c,
                "targets-out-of-range",
                f"y ranges over [{t.low:g}, {t.high:g}], but the output ends in "
                f"{output.activation}, which only reaches [{low:g}, {high:g}]: the loss "
                "cannot go below the gap",
                "no activation on the last layer (linear), or scale y into "
                f"[{low:g}, {high:g}] first",
            )


def broadcast_targets(case: Case) -> Iterator[Finding]:
    """``(n,)`` or ``(n, 1)`` targets against ``(n, k)`` outputs, which Keras broadcasts."""
    t, units = case.targets, case.output.units
    if t is None or not units or units < 2 or (t.last not in (None, 1)):
        return
    if len(case.output.shape or ()) != 2:
        return
    for c in case.losses:
        if c.expects.y_true in ("real", "non_negative", "binary", "multi_hot", "signed"):
            yield finding(
                case,
                c,
                "broadcast-targets",
                f"y has one value per sample ({shape_of(t)}), but the output has {units} units: "
                f"Keras broadcasts y against all {units} and {c.name} trains each unit on the "
                "same target, silently",
                "Dense(1) as the last layer for one target per sample (or give y one column "
                f"per unit: shape (n, {units}))",
            )


def accuracy_on_regression(case: Case) -> Iterator[Finding]:
    """Classification metrics on real-valued targets (always about 0)."""
    t = case.targets
    if t is None:
        return
    real = not t.integer_valued and not t.in_unit_interval
    regression_loss = next((c for c in case.losses if c.expects.task == "regression"), None)
    if not (real or (regression_loss is not None and not t.in_unit_interval)):
        return
    for c in case.metrics:
        if c.expects.task == "classification":
            why = (
                f"y is real-valued, in [{t.low:g}, {t.high:g}]"
                if real
                else f"the loss {regression_loss.name if regression_loss else ''} is a "
                "regression loss"
            )
            yield Finding(
                "warning",
                "accuracy-on-regression",
                f"{c.name} counts exact class matches, but {why}: it stays near 0 whatever "
                "the model learns",
                f"metrics: {c.name} -> mean_absolute_error",
                case.output.name,
            )


def class_weight_keys(case: Case) -> Iterator[Finding]:
    """``class_weight`` keys that are not classes of ``y`` (Keras ignores them silently)."""
    weights, t, units = case.class_weight, case.targets, case.output.units
    if not has_type(weights, dict) or not weights:
        return
    if units and units > 1:
        classes: set[int] | None = set(range(units))
    elif t is not None and t.classes is not None:
        classes = set(t.classes)
    else:
        classes = None
    bad = [
        key
        for key in weights
        if not integer_key(key) or (classes is not None and int(key) not in classes)
    ]
    if bad:
        known = listed(tuple(sorted(classes))) if classes is not None else "class ids"
        yield Finding(
            "error",
            "class-weight-keys",
            f"class_weight has keys {listed(tuple(bad))} that are not classes of y "
            f"({known}): Keras gives those classes weight 1.0 and ignores the keys, silently",
            f"class_weight = {{{', '.join(f'{k}: ...' for k in sorted(classes or []))}}}"
            if classes
            else "use the integer class ids of y as keys",
            case.output.name,
        )
