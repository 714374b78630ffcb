"""A preflight finding, and the list of them (:class:`Preflight`) with its text and HTML views."""

from __future__ import annotations

import html
from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")
"""``error`` stops ``%%kcompile`` (unless ``--force``); ``warning`` is shown; ``info`` is kept."""


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or worth knowing) about the model, the data and the components together.

    Attributes:
        severity: ``"error"``, ``"warning"`` or ``"info"``.
        code: a stable kebab-case identifier, e.g. ``"ids-with-categorical"``.
        message: what is wrong and what it does to training.
        fix: the concrete change, e.g. ``loss = sparse_categorical_crossentropy``.
        where: the output it concerns (its name), or ``""`` for the model as a whole.

    Example:
        >>> f = Finding("error", "softmax-one-unit", "softmax over 1 unit is always 1.0",
        ...             'Dense(1, activation="sigmoid")', "dense")
        >>> print(f)
        error [softmax-one-unit] at output 'dense': softmax over 1 unit is always 1.0
          fix: Dense(1, activation="sigmoid")
    """

    severity: str
    code: str
    message: str
    fix: str
    where: str = ""

    def __str__(self) -> str:
        at = f" at output {self.where!r}" if self.where else ""
        text = f"{self.severity} [{self.code}]{at}: {self.message}"
        return f"{text}\n  fix: {self.fix}" if self.fix else text


class Preflight(list[Finding]):
    """The findings of :func:`kreg.preflight`, errors first; a list with text and HTML views.

    Example:
        >>> report = Preflight([Finding("warning", "w", "looks odd", "do this")])
        >>> bool(report.errors), len(report.warnings), report.ok
        (False, 1, True)
        >>> print(report)
        preflight: 0 errors, 1 warning
        warning [w]: looks odd
          fix: do this
    """

    inspected: tuple[str, ...] = ()
    """What was read, a line per output: activation and units, targets, declared components."""

    @property
    def errors(self) -> list[Finding]:
        """The findings that stop a ``%%kcompile`` cell."""
        return [f for f in self if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings that are shown but do not stop training."""
        return [f for f in self if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """Whether nothing stops training (no error)."""
        return not self.errors

    def headline(self) -> str:
        """``preflight: N errors, M warnings``."""
        errors, warnings = len(self.errors), len(self.warnings)
        return (
            f"preflight: {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)}"
        )

    def __str__(self) -> str:
        return "\n".join([self.headline(), *map(str, self)])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colours = {"error": "#b00020", "warning": "#8a6d00", "info": "#555"}
        rows = "".join(
            f"<tr><td style='color:{colours.get(f.severity, '#000')}'><b>{f.severity}</b></td>"
            f"<td><code>{html.escape(f.code)}</code></td><td>{html.escape(f.where)}</td>"
            f"<td>{html.escape(f.message)}</td><td><code>{html.escape(f.fix)}</code></td></tr>"
            for f in self
        )
        table = (
            "<table><tr><th>severity</th><th>check</th><th>output</th><th>what</th>"
            f"<th>fix</th></tr>{rows}</table>"
            if rows
            else ""
        )
        return f"<div class='kreg-preflight'><b>{html.escape(self.headline())}</b>{table}</div>"


def ordered(findings: list[Finding]) -> Preflight:
    """Errors first, then warnings, then infos; each once (same code, output and message).

    Example:
        >>> a, b = Finding("info", "i", "m", ""), Finding("error", "e", "m", "")
        >>> [f.code for f in ordered([a, b, a])]
        ['e', 'i']
    """
    unique = list(dict.fromkeys(findings))
    return Preflight(sorted(unique, key=lambda f: SEVERITIES.index(f.severity)))
