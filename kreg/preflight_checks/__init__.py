"""Preflight: the model, the data and the chosen components, checked together before training.

:func:`preflight` only inspects: the model's output shapes and final activations, a
bounded sample of ``y`` (see :mod:`kreg.preflight_checks.targets`) and what each loss and
metric declares it expects (:mod:`kreg.registry.expects`). It never trains, never calls
``fit`` and never copies ``x``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kreg.cell.data import is_dataset
from kreg.cell.spec import CompileSpec, has_type
from kreg.preflight_checks.case import Case
from kreg.preflight_checks.components import per_output
from kreg.preflight_checks.finding import Finding, Preflight, ordered
from kreg.preflight_checks.outputs import Output, model_outputs
from kreg.preflight_checks.rules import RULES
from kreg.preflight_checks.targets import Targets, first_batch, readable, targets_of

__all__ = ["Finding", "Preflight", "preflight", "preflight_spec"]


def preflight(
    model: Any,
    *,
    loss: Any,
    metrics: Any = None,
    x: Any = None,
    y: Any = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    validation_data: Any = None,
) -> Preflight:
    """Check ``model`` with ``loss``, ``metrics`` and the data together; return the findings.

    ``loss`` and ``metrics`` take whatever ``model.compile`` takes: names, objects,
    functions, and lists or dicts per output. ``x`` is read only when it is a
    ``tf.data.Dataset`` (its first batch gives ``y``). ``sample_weight`` is accepted for
    symmetry with ``fit`` and not read.

    Example:
        >>> import keras, kreg, numpy as np
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")])
        >>> report = kreg.preflight(model, loss="categorical_crossentropy",
        ...                         y=np.array([0, 2, 1, 2]))
        >>> [f.code for f in report.errors]
        ['ids-with-categorical']
        >>> print(report.errors[0].fix)
        loss = sparse_categorical_crossentropy (or y = keras.utils.to_categorical(y, 3))
    """
    del sample_weight
    outputs = model_outputs(model)
    if not outputs:
        return Preflight(
            [
                Finding(
                    "info",
                    "outputs-unknown",
                    f"{type(model).__name__} has no graph to read (a subclassed model, or "
                    "one not built yet): only the components' own declarations were read",
                    "build the model (call it once, or give it a keras.Input) to have its "
                    "outputs checked",
                )
            ]
        )
    names = [output.name for output in outputs]
    losses = per_output(loss, names, "loss")
    metric_lists = per_output(metrics, names, "metric")
    notes: list[Finding] = []
    targets = _targets(x, y, outputs, notes)
    weights = class_weight if len(outputs) == 1 else None
    cases = [
        Case(o, targets.get(o.name), tuple(losses[o.name]), tuple(metric_lists[o.name]), weights)
        for o in outputs
    ]
    findings = [finding for case in cases for rule in RULES for finding in rule(case)]
    found = {(f.code, f.where) for f in findings}
    for case in _validation_cases(validation_data, cases):
        for finding in (f for rule in RULES for f in rule(case)):
            if (finding.code, finding.where) not in found:  # said once, of the training data
                found.add((finding.code, finding.where))
                message = f"in validation_data: {finding.message}"
                findings.append(dataclasses.replace(finding, message=message))
    report = ordered(findings + notes)
    report.inspected = tuple(_described(case) for case in cases)
    return report


def _described(case: Case) -> str:
    """One line of what preflight read of one output."""
    output, t = case.output, case.targets
    parts = [
        f"{output.name}: {output.activation or 'unknown activation'} over {output.units} units"
    ]
    if t is None:
        parts.append("y not read")
    else:
        kind = "integers" if t.integer_valued else "reals"
        parts.append(f"y {t.shape} {kind} in [{t.low:g}, {t.high:g}] ({t.rows} rows read)")
    parts += [f"{c.kind} {c.name} ({c.expects.describe()})" for c in case.components]
    return "; ".join(parts)


def _targets(x: Any, y: Any, outputs: list[Output], notes: list[Finding]) -> dict[str, Any]:
    """Each output's :class:`Targets`, from ``y`` or from the first batch of a dataset ``x``."""
    if y is None and x is not None and is_dataset(x):
        batch = first_batch(x)
        y = batch[0] if batch is not None else None
    elif y is None and x is not None and not readable(x) and not has_type(x, Mapping):
        notes.append(
            Finding(
                "info",
                "targets-unread",
                f"y comes from a {type(x).__name__}, which preflight does not iterate: the "
                "checks that need the targets were skipped",
                "",
            )
        )
    return _split(y, [output.name for output in outputs])


def _split(y: Any, names: list[str]) -> dict[str, Targets | None]:
    if y is None:
        return {}
    if type(y) is dict:
        return {name: targets_of(y[name]) for name in names if name in y}
    if type(y) in (list, tuple) and len(names) > 1 and len(y) == len(names):
        return {name: targets_of(item) for name, item in zip(names, y)}
    if len(names) == 1:
        return {names[0]: targets_of(y)}
    return {}


def _validation_cases(data: Any, cases: list[Case]) -> list[Case]:
    """The same outputs and components with ``validation_data``'s targets (those it has)."""
    if data is None:
        return []
    if is_dataset(data):
        batch = first_batch(data)
        y = batch[0] if batch is not None else None
    elif type(data) in (tuple, list) and len(data) >= 2:
        y = data[1]
    else:
        return []
    targets = _split(y, [case.output.name for case in cases])
    return [
        dataclasses.replace(case, targets=targets[case.output.name], class_weight=None)
        for case in cases
        if targets.get(case.output.name) is not None
    ]


def preflight_spec(model: Any, spec: CompileSpec) -> Preflight:
    """:func:`preflight` of a resolved ``%%kcompile`` cell against ``model``.

    Example:
        >>> import keras
        >>> from kreg.cell.parse import parse_cell
        >>> from kreg.cell.resolve import resolve_cell
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, "softmax")])
        >>> spec = resolve_cell(parse_cell("loss = bce"), {})
        >>> [f.code for f in preflight_spec(model, spec)]
        ['softmax-one-unit']
    """
    compile_args, fit_args = spec.compile_args, spec.fit_args
    if model is None or "loss" not in compile_args:
        return Preflight()
    try:
        return preflight(
            model,
            loss=compile_args["loss"],
            metrics=compile_args.get("metrics"),
            x=fit_args.get("x"),
            y=fit_args.get("y"),
            class_weight=fit_args.get("class_weight"),
            validation_data=fit_args.get("validation_data"),
        )
    except Exception as error:  # a model or data preflight cannot read never blocks training
        return Preflight(
            [
                Finding(
                    "info",
                    "preflight-unreadable",
                    f"preflight could not read this model or data ({type(error).__name__}: "
                    f"{error}); nothing was checked",
                    "",
                )
            ]
        )
