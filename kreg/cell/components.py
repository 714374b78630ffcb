"""Compile values of a cell: losses, optimizers, metrics (registry components or variables).

Registry names and calls are built through the catalogue; a bare name that is not
registered is a variable of the notebook, which must pass the structural contract.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping
from typing import Any

from kreg.cell.parse import KIND_OF_ARGUMENT, KIND_OF_KEY, Call, Name, Position, Quoted
from kreg.cell.spec import MAX_COMPONENTS, CompileSpec, Value, has_type
from kreg.contracts.structural import structural_report
from kreg.errors import (
    AmbiguousComponentError,
    CellError,
    ComponentLoadError,
    ConfigError,
    ContractError,
    UnknownComponentError,
)
from kreg.names import suggest
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry
from kreg.registry.index import Candidate


def compile_value(
    key: str, node: Any, namespace: Mapping[str, Any], spec: CompileSpec, position: Position
) -> Value:
    """The value of compile key ``key``: components built, with their code and provenance.

    Example:
        >>> from kreg.cell.parse import Name, Position
        >>> at = Position(2, 8)
        >>> compile_value("metrics", Name("mae", at), {}, CompileSpec(), at).code
        '[keras.metrics.MeanAbsoluteError()]'
    """
    if key == "loss_weights":
        return _weights(node, position)
    kind = KIND_OF_KEY[key]
    if key == "optimizer":
        return _component(node, kind, namespace, spec, position)
    if isinstance(node, dict):
        per_output = {k: compile_value(key, v, namespace, spec, position) for k, v in node.items()}
        return _combine(per_output, dict)
    if isinstance(node, (list, tuple)):
        items = [_component(item, kind, namespace, spec, position) for item in node]
        return _combine(items, list)
    single = _component(node, kind, namespace, spec, position)
    if key in ("metrics", "weighted_metrics"):
        return _combine([single], list)
    return single


def _combine(items: Any, shape: type) -> Value:
    if shape is dict:
        return Value(
            {k: v.value for k, v in items.items()},
            "{" + ", ".join(f"{k!r}: {v.code}" for k, v in items.items()) + "}",
            frozenset().union(*(v.imports for v in items.values())),
            {k: v.qualified for k, v in items.items()},
        )
    return Value(
        [v.value for v in items],
        "[" + ", ".join(v.code for v in items) + "]",
        frozenset().union(*(v.imports for v in items)),
        [v.qualified for v in items],
    )


def _position_of(node: Any, fallback: Position) -> Position:
    return getattr(node, "position", fallback)


def _component(
    node: Any, kind: str | None, namespace: Mapping[str, Any], spec: CompileSpec, at: Position
) -> Value:
    position = _position_of(node, at)
    if isinstance(node, Call):
        return _registry_call(node, kind, namespace, spec)
    if isinstance(node, (Name, Quoted, str)):
        name = node if isinstance(node, str) else getattr(node, "name", getattr(node, "text", ""))
        candidate = _find(name, kind, position)
        if candidate is not None:
            return _build(candidate, name, [], spec, position)
        if isinstance(node, Name) and name in namespace:
            return _user_component(name, namespace[name], kind, position)
        raise _unknown(name, kind, namespace, position)
    what = f"a {kind}" if kind else "a component"
    raise CellError(
        f"expected {what} (a registry name, a call such as huber(delta=1.5), or a variable); "
        f"got {node!r}",
        position.line,
        position.column,
    )


def _find(name: str, kind: str | None, position: Position) -> Candidate | None:
    try:
        return CATALOG.index().resolve(name, kind)
    except UnknownComponentError:
        return None
    except AmbiguousComponentError as error:
        raise CellError(str(error), position.line, position.column) from None


def _unknown(name: str, kind: str | None, namespace: Mapping[str, Any], at: Position) -> CellError:
    if kind is not None:
        try:
            other = CATALOG.index().resolve(name).entry.kind
        except (UnknownComponentError, AmbiguousComponentError):
            other = None
        if other is not None and other != kind:
            article = "an" if other[0] in "aeiou" else "a"
            return CellError(
                f"{name!r} is {article} {other}, not a {kind}; choose a {kind} "
                f"(`%kreg list --kind {kind}`)",
                at.line,
                at.column,
            )
    close = CATALOG.index().suggestions(name, kind)[:3]
    variables = {k: k for k in namespace if isinstance(k, str) and not k.startswith("_")}
    close += [v for v in suggest(name, variables, limit=2) if v not in close]
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    what = kind or "component"
    return CellError(
        f"{name!r} is neither a registered {what} nor a variable of the notebook.{hint} "
        f"`%kreg list` shows the registry",
        at.line,
        at.column,
    )


def _registry_call(
    node: Call, kind: str | None, namespace: Mapping[str, Any], spec: CompileSpec
) -> Value:
    position = node.position
    candidate = _find(node.name, kind, position)
    if candidate is None:
        if node.name in namespace:
            raise CellError(
                f"{node.name}(...) calls a notebook variable; only registry components can be "
                f"called here. Build it in a normal cell (obj = {node.name}(...)) and write the "
                "variable's name",
                position.line,
                position.column,
            )
        raise _unknown(node.name, kind, namespace, position)
    names = _parameter_names(candidate.entry, position)
    if len(node.args) > len(names):
        raise CellError(
            f"{node.name}() takes at most {len(names)} positional arguments "
            f"({', '.join(names)}); got {len(node.args)}",
            position.line,
            position.column,
        )
    arguments = list(zip(names, node.args)) + list(node.kwargs)
    seen: set[str] = set()
    for argument, _ in arguments:
        if argument in seen:
            raise CellError(f"{node.name}() got {argument!r} twice", position.line, position.column)
        seen.add(argument)
    built = [(k, _argument(k, v, namespace, spec, position)) for k, v in arguments]
    return _build(candidate, node.name, built, spec, position)


def _parameter_names(entry: Entry, position: Position) -> list[str]:
    try:
        return entry.parameters().names
    except (ComponentLoadError, ConfigError, ContractError) as error:
        raise CellError(str(error), position.line, position.column) from None


def _argument(
    name: str, node: Any, namespace: Mapping[str, Any], spec: CompileSpec, at: Position
) -> Value:
    if isinstance(node, (Call, Name)):
        kind = KIND_OF_ARGUMENT.get(name)
        if isinstance(node, Name) and _find(node.name, kind, node.position) is None:
            if node.name in namespace:
                return Value(namespace[node.name], node.name, qualified={"variable": node.name})
            raise _unknown(node.name, kind, namespace, node.position)
        return _component(node, kind, namespace, spec, at)
    if isinstance(node, list):
        return _combine([_argument(name, item, namespace, spec, at) for item in node], list)
    if isinstance(node, tuple):
        items = [_argument(name, item, namespace, spec, at) for item in node]
        combined = _combine(items, list)
        return Value(
            tuple(combined.value),
            f"({combined.code[1:-1]}{',' if len(items) == 1 else ''})",
            combined.imports,
            combined.qualified,
        )
    if isinstance(node, dict):
        return _combine({k: _argument(name, v, namespace, spec, at) for k, v in node.items()}, dict)
    return Value(node, repr(node), qualified=node)


def _build(
    candidate: Candidate,
    spelling: str,
    arguments: list[tuple[str, Value]],
    spec: CompileSpec,
    position: Position,
) -> Value:
    entry = candidate.entry
    spec.components += 1
    if spec.components > MAX_COMPONENTS:
        raise CellError(
            f"the cell builds more than {MAX_COMPONENTS} components; build big collections "
            "in a normal cell and pass the variable (metrics = my_metrics)",
            position.line,
            position.column,
        )
    if candidate.deprecated:
        spec.notes.append(
            f"{spelling!r} is a Keras 2 name; kreg used {entry.name!r} ({entry.public_path})"
        )
    config = {k: v.value for k, v in arguments}
    try:
        obj = entry.create(config)
    except (ConfigError, ContractError, ComponentLoadError) as error:
        raise CellError(f"{spelling}: {error}", position.line, position.column) from None
    except Exception as error:
        raise CellError(
            f"{spelling} could not be built ({type(error).__name__}: {error})",
            position.line,
            position.column,
        ) from None
    code, imports = _code_for(entry, arguments)
    qualified = {
        "component": entry.qualified_name,
        "kind": entry.kind,
        "config": {k: v.qualified for k, v in arguments},
    }
    return Value(obj, code, imports, qualified)


def _code_for(entry: Entry, arguments: list[tuple[str, Value]]) -> tuple[str, frozenset[str]]:
    imports = frozenset().union(*(v.imports for _, v in arguments)) if arguments else frozenset()
    if entry.qualified_name == "keras:accuracy" and not arguments:
        return '"accuracy"', imports
    path = entry.public_path
    module = path.rpartition(".")[0]
    target = entry.load()
    if not inspect.isclass(target):  # a plain function: Keras takes it as it is
        if arguments:
            wrapper = (
                "keras.losses.LossFunctionWrapper"
                if entry.kind == "loss"
                else ("keras.metrics.MeanMetricWrapper")
            )
            rendered = ", ".join(f"{k}={v.code}" for k, v in arguments)
            return f"{wrapper}({path}, {rendered})", imports | {module}
        return path, imports | {module}
    rendered = ", ".join(f"{k}={v.code}" for k, v in arguments)
    top = "keras" if path.startswith("keras.") else module
    return f"{path}({rendered})", imports | {top}


def _user_component(name: str, value: Any, kind: str | None, position: Position) -> Value:
    kind = kind or "loss"
    if has_type(value, type):
        report = structural_report(value, kind, f"{kind} {name}")
        if report.ok:
            try:
                value = value()
            except Exception as error:
                raise CellError(
                    f"{name}() could not be built without arguments ({type(error).__name__}: "
                    f"{error}); build it in a normal cell (my_{kind} = {name}(...)) and write "
                    f"{kind} = my_{kind}",
                    position.line,
                    position.column,
                ) from None
            return Value(value, f"{name}()", qualified={"variable": name})
    else:
        target = value if has_type(value, types.FunctionType) else type(value)
        report = structural_report(target, kind, f"{kind} {name}")
    if not report.ok:
        reasons = "; ".join(r.message for r in report.failures)
        raise CellError(
            f"the variable {name!r} is not a Keras {kind}: {reasons}",
            position.line,
            position.column,
        )
    return Value(value, name, qualified={"variable": name})


def _weights(node: Any, position: Position) -> Value:
    def numeric(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if numeric(node) or (isinstance(node, list) and all(numeric(v) for v in node)):
        return Value(node, repr(node))
    if isinstance(node, dict) and all(numeric(v) for v in node.values()):
        return Value(node, repr(node))
    raise CellError(
        "loss_weights must be a number, a list of numbers or a dict {output: number}",
        position.line,
        position.column,
    )
