"""What each preflight rule looks at (:class:`Case`), and the helpers the rules share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kreg.cell.spec import has_type
from kreg.preflight_checks.components import Component
from kreg.preflight_checks.finding import Finding
from kreg.preflight_checks.outputs import Output
from kreg.preflight_checks.targets import Targets

EPS = 1e-3
"""Tolerance when comparing targets with an activation's range."""


@dataclass(frozen=True)
class Case:
    """One output with what is known of it: the output, its targets, its losses and metrics."""

    output: Output
    targets: Targets | None
    losses: tuple[Component, ...]
    metrics: tuple[Component, ...]
    class_weight: Any = None

    @property
    def components(self) -> tuple[Component, ...]:
        """Losses first, then metrics."""
        return self.losses + self.metrics


def finding(case: Case, component: Component | None, code: str, message: str, fix: str) -> Finding:
    severity = "error" if component is None or component.kind == "loss" else "warning"
    return Finding(severity, code, message, fix, case.output.name)


def replace(component: Component, new: str) -> str:
    return f"loss = {new}" if component.kind == "loss" else f"metrics: {component.name} -> {new}"


def with_config(c: Component, name: str) -> str:
    if c.expects.logits and c.config.get(c.expects.logits):
        return f"{name}({c.expects.logits}=True)"
    return name


def shape_of(t: Targets) -> str:
    return (
        "("
        + ", ".join("n" if i == 0 else str(d) for i, d in enumerate(t.shape))
        + (",)" if t.rank == 1 else ")")
    )


def listed(values: tuple[Any, ...], limit: int = 6) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def integer_key(key: Any) -> bool:
    try:
        return float(key) == int(key) and not has_type(key, (str, bool))
    except (TypeError, ValueError):
        return False
