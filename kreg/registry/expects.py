"""What a loss or metric expects of the data: the vocabulary of ``register(..., expects=...)``.

A declaration says what ``y_true`` must hold, what ``y_pred`` must be, the task a
metric fits, and which constructor argument (``from_logits``) switches ``y_pred`` to
logits. :func:`kreg.preflight` compares it with the model's outputs and a sample of
the targets; a component that declares nothing gets no findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kreg.errors import RegistrationError

Y_TRUE: dict[str, str] = {
    "binary": "0/1 labels (or probabilities in [0, 1]), one per output unit",
    "class_ids": "integer class ids below C, the output's units; shape (n,) or (n, 1)",
    "one_hot": "one-hot (or probability) rows over C, the output's units",
    "multi_hot": "0/1 per output unit, any number of ones in a row",
    "signed": "-1/+1 labels (0/1 labels are converted to -1/+1)",
    "real": "any real numbers",
    "non_negative": "non-negative numbers (counts, amounts)",
    "distribution": "rows of non-negative numbers that sum to 1",
    "ranking": "relevance scores of the items of each list",
    "any": "anything (no expectation)",
}
"""What ``y_true`` must hold."""

Y_PRED: dict[str, str] = {
    "probabilities": "a probability in [0, 1] per unit (sigmoid)",
    "distribution": "a probability distribution over the last axis (softmax)",
    "logits": "unbounded scores (no final activation)",
    "real": "any real numbers",
    "non_negative": "non-negative numbers (softplus, exponential, relu)",
    "any": "anything (no expectation)",
}
"""What ``y_pred``, the model's output, must be."""

TASKS: dict[str, str] = {
    "classification": "labels: accuracy-like metrics are meaningless on real-valued targets",
    "regression": "real-valued targets",
    "ranking": "lists of items ranked by relevance",
    "any": "any task",
}
"""The task a component fits."""


@dataclass(frozen=True)
class Expects:
    """One component's declaration: what ``y_true`` and ``y_pred`` must be, and its task.

    ``logits`` names the boolean constructor argument that, when true, makes
    ``y_pred`` logits (``"from_logits"``).

    Example:
        >>> bce = Expects("binary", "probabilities", "classification", logits="from_logits")
        >>> bce.y_pred_for({"from_logits": True}), bce.y_pred_for({})
        ('logits', 'probabilities')
    """

    y_true: str = "any"
    y_pred: str = "any"
    task: str = "any"
    logits: str | None = None

    def y_pred_for(self, config: dict[str, Any]) -> str:
        """What ``y_pred`` must be for a component built with ``config``."""
        if self.logits and config.get(self.logits):
            return "logits"
        return self.y_pred

    def describe(self) -> str:
        """One line for ``kreg show``.

        Example:
            >>> Expects("class_ids", "distribution", logits="from_logits").describe()
            'y_true class_ids, y_pred distribution (logits when from_logits=True)'
        """
        text = f"y_true {self.y_true}, y_pred {self.y_pred}"
        if self.logits:
            text += f" (logits when {self.logits}=True)"
        if self.task != "any":
            text += f", task {self.task}"
        return text


def expects_from(value: Any, plugin: str) -> Expects | None:
    """``register(..., expects=...)``'s value as an :class:`Expects` (None when absent).

    It takes an :class:`Expects` or a dict with the keys ``y_true``, ``y_pred``,
    ``task`` and ``logits``, each word from :data:`Y_TRUE`, :data:`Y_PRED` and
    :data:`TASKS`.

    Example:
        >>> expects_from({"y_true": "real", "y_pred": "non_negative"}, "demo").y_pred
        'non_negative'
        >>> expects_from({"y_true": "labels"}, "demo")
        Traceback (most recent call last):
        ...
        kreg.errors.RegistrationError: plugin 'demo': expects= y_true must be one of ...
    """
    if value is None or isinstance(value, Expects):
        return value
    if not isinstance(value, dict) or not set(value) <= {"y_true", "y_pred", "task", "logits"}:
        raise RegistrationError(
            f"plugin {plugin!r}: expects= must be a dict with the keys y_true, y_pred, task "
            f"and logits (see kreg.registry.expects). Received: expects={value!r}"
        )
    for key, words in (("y_true", Y_TRUE), ("y_pred", Y_PRED), ("task", TASKS)):
        if key in value and value[key] not in words:
            raise RegistrationError(
                f"plugin {plugin!r}: expects= {key} must be one of {', '.join(words)}. "
                f"Received: {value[key]!r}"
            )
    logits = value.get("logits")
    if logits is not None and not (isinstance(logits, str) and logits.isidentifier()):
        raise RegistrationError(
            f"plugin {plugin!r}: expects= logits must name a constructor argument, such as "
            f"'from_logits'. Received: {logits!r}"
        )
    return Expects(**value)
