"""The result of a contract check: one line per check, and a verdict."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, WARN, SKIPPED = "pass", "fail", "warn", "skipped"
OUTCOMES = (PASS, FAIL, WARN, SKIPPED)
_COLOURS = {PASS: "#1a7f37", FAIL: "#cf222e", WARN: "#9a6700", SKIPPED: "#6e7781"}


@dataclass
class CheckResult:
    """One check: its name, outcome (pass / fail / warn / skipped), message and duration.

    Example:
        >>> CheckResult("per_sample", PASS, "one value per sample", 0.01).outcome
        'pass'
    """

    name: str
    outcome: str
    message: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "outcome": self.outcome,
            "message": self.message,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class Report:
    """Every check run on one component. ``ok`` is true when no check failed.

    Example:
        >>> report = Report("loss 'huber'", "loss")
        >>> report.add(CheckResult("per_sample", PASS, "shape (4,)"))
        >>> report.add(CheckResult("jit_compile", WARN, "XLA failed"))
        >>> report.ok, report.counts()[WARN]
        (True, 1)
    """

    subject: str
    kind: str
    results: list[CheckResult] = field(default_factory=list)

    def add(self, result: CheckResult) -> None:
        """Append one check's result."""
        self.results.append(result)

    @property
    def ok(self) -> bool:
        """No check failed (warnings and skipped checks do not count against it)."""
        return not self.failures

    @property
    def failures(self) -> list[CheckResult]:
        """The failed checks."""
        return [r for r in self.results if r.outcome == FAIL]

    @property
    def seconds(self) -> float:
        """Total time spent in the checks."""
        return sum(r.seconds for r in self.results)

    def counts(self) -> dict[str, int]:
        """How many checks ended in each outcome."""
        return {o: sum(r.outcome == o for r in self.results) for o in OUTCOMES}

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r} in this report; it has {self.names()}")

    def names(self) -> list[str]:
        """Names of the checks, in the order they ran."""
        return [r.name for r in self.results]

    def verdict(self) -> str:
        """One line: ``OK`` or ``FAILED`` with the counts."""
        counts = self.counts()
        parts = [f"{counts[o]} {o}" for o in OUTCOMES if counts[o]]
        state = "OK" if self.ok else "FAILED"
        return f"{state} ({', '.join(parts) or 'no checks'}; {self.seconds:.2f} s)"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``kreg check --json``)."""
        return {
            "subject": self.subject,
            "kind": self.kind,
            "ok": self.ok,
            "seconds": round(self.seconds, 4),
            "checks": [r.as_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from :meth:`as_dict` (reports cross process boundaries as dicts).

        Example:
            >>> report = Report("loss 'x'", "loss", [CheckResult("per_sample", FAIL, "shape ()")])
            >>> Report.from_dict(report.as_dict()).failures[0].message
            'shape ()'
        """
        results = [
            CheckResult(c["name"], c["outcome"], c["message"], c["seconds"]) for c in data["checks"]
        ]
        return cls(data["subject"], data["kind"], results)

    def __str__(self) -> str:
        width = max((len(r.name) for r in self.results), default=0)
        lines = [f"{self.subject}: {self.verdict()}"]
        for result in self.results:
            lines.append(
                f"  {result.outcome.upper():<7} {result.name:<{width}}  "
                f"{result.seconds * 1000:6.0f} ms  {result.message}".rstrip()
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Report {self.subject}: {self.verdict()}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='color:{_COLOURS[r.outcome]};font-weight:bold'>{r.outcome}</td>"
            f"<td><code>{html.escape(r.name)}</code></td>"
            f"<td style='text-align:right'>{r.seconds * 1000:.0f} ms</td>"
            f"<td style='text-align:left'>{html.escape(r.message)}</td></tr>"
            for r in self.results
        )
        colour = _COLOURS[PASS if self.ok else FAIL]
        return (
            f"<div><b>{html.escape(self.subject)}</b>: "
            f"<span style='color:{colour}'>{html.escape(self.verdict())}</span>"
            "<table><thead><tr><th>outcome</th><th>check</th><th>time</th>"
            f"<th style='text-align:left'>message</th></tr></thead><tbody>{rows}"
            "</tbody></table></div>"
        )
