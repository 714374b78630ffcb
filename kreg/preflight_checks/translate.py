"""Keras errors raised in the first step, read back as a preflight ``Finding``.

Preflight catches what it can see before training; when Keras itself fails on the first
batch (a rank or shape mismatch, a label out of range) with a message kreg recognises,
the error is told again as a finding with its fix.
"""

from __future__ import annotations

import re

from kreg.preflight_checks.finding import Finding

_PATTERNS: tuple[tuple[str, str, str, str], ...] = (
    (
        r"`target` and `output` must have the same rank",
        "rank-mismatch",
        "the labels and the output differ in rank: categorical_crossentropy expects one-hot "
        "rows, and y holds one class id per sample",
        "loss = sparse_categorical_crossentropy (or y = keras.utils.to_categorical(y))",
    ),
    (
        r"`target` and `output` must have the same shape",
        "shape-mismatch",
        "the labels' rows and the output differ in width",
        "give the last layer as many units as y has columns (or one-hot y to the output's width)",
    ),
    (
        r"label value of (?P<label>-?\d+) which is outside the valid range of \[0, (?P<n>\d+)\)",
        "too-few-units",
        "y holds the class id {label} (at least), but the output has only {n} units",
        "Dense({wanted}, ...) as the last layer, one unit per class",
    ),
    (
        r"Argument `output` must have rank \(ndim\) `target.ndim - 1`|(?:labels|target).{0,40}"
        r"should equal the shape of logits except for the last dimension",
        "one-hot-with-sparse",
        "sparse_categorical_crossentropy expects one class id per sample, but y holds rows "
        "(one-hot labels)",
        "loss = categorical_crossentropy (or y = y.argmax(axis=-1))",
    ),
)


def translate(error: BaseException) -> Finding | None:
    """The finding for a Keras error kreg recognises, or None.

    Example:
        >>> print(translate(ValueError("Received a label value of 4 which is outside the "
        ...                            "valid range of [0, 3).  Label values: 4 0")))
        error [too-few-units]: y holds the class id 4 (at least), but the output has only 3 units
          fix: Dense(5, ...) as the last layer, one unit per class
        >>> translate(ValueError("something else")) is None
        True
    """
    text = str(error)
    for pattern, code, message, fix in _PATTERNS:
        match = re.search(pattern, text)
        if match is None:
            continue
        values = {k: v for k, v in match.groupdict().items() if v is not None}
        if "label" in values:
            values["wanted"] = str(int(values["label"]) + 1)
        return Finding("error", code, message.format(**values), fix.format(**values))
    return None


def retold(error: BaseException, message: str) -> tuple[str, Finding | None]:
    """``message`` led by the finding ``error`` reads as (when kreg recognises it), and that
    finding.

    Example:
        >>> retold(ValueError("something else"), "training failed")
        ('training failed', None)
    """
    finding = translate(error)
    if finding is None:
        return message, None
    return f"Keras failed on the first batch; kreg reads it as:\n{finding}\n{message}", finding
