"""CompileSpec: a parsed ``%%kcompile`` cell resolved into Keras objects and plain Keras code.

Resolution builds every component (registry names through the registry, bare
names that are not registered from the user's namespace) before anything
touches the model, so a bad cell changes nothing. Each value also carries the
Python code that reproduces it with plain Keras, for ``--dry-run`` and
``Run.to_code()``.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kreg.cellparse import (
    COMPILE_KEYS,
    KIND_OF_ARGUMENT,
    KIND_OF_KEY,
    Call,
    Cell,
    Name,
    Position,
    Quoted,
)
from kreg.errors import (
    AmbiguousComponentError,
    CellError,
    ComponentLoadError,
    ConfigError,
    ContractError,
    UnknownComponentError,
)

_DATA_KEYS = ("x", "y", "sample_weight")
MAX_COMPONENTS = 256
"""A cell builds at most this many registry components (each costs milliseconds)."""


@dataclass
class Value:
    """One resolved value: the object, the code that rebuilds it, and where it came from."""

    value: Any
    code: str
    imports: frozenset[str] = frozenset()
    # {"component": "plugin:name", "config": {...}} for registry components,
    # {"variable": name} for values taken from the notebook's namespace
    qualified: Any = None


@dataclass
class CompileSpec:
    """The resolved cell: ``compile`` and ``fit`` keyword arguments, with their code.

    Example:
        >>> from kreg.cellparse import parse_cell
        >>> cell = parse_cell("loss = huber(delta=1.5)\\nx = data\\nepochs = 2")
        >>> spec = resolve_cell(cell, {"data": [[1.0]]})
        >>> type(spec.compile_args["loss"]).__name__, spec.fit_args["epochs"]
        ('Huber', 2)
        >>> spec.code["loss"]
        'keras.losses.Huber(delta=1.5)'
    """

    compile_args: dict[str, Any] = field(default_factory=dict)
    fit_args: dict[str, Any] = field(default_factory=dict)
    code: dict[str, str] = field(default_factory=dict)
    qualified: dict[str, Any] = field(default_factory=dict)
    imports: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    components: int = 0  # registry components built so far (at most MAX_COMPONENTS)

    @property
    def trains(self) -> bool:
        """Whether the cell fits (it has ``x``) or only compiles."""
        return "x" in self.fit_args

    def to_code(self, model: str = "model", extra_compile: Mapping[str, Any] = ()) -> str:
        """Plain Keras code doing the same compile (and fit): what kreg runs, without kreg.

        Example:
            >>> from kreg.cellparse import parse_cell
            >>> spec = resolve_cell(parse_cell("loss = mse\\noptimizer = adam"), {})
            >>> print(spec.to_code("net"))
            import keras
            <BLANKLINE>
            net.compile(
                loss=keras.losses.MeanSquaredError(),
                optimizer=keras.optimizers.Adam(),
            )
        """
        lines = [f"import {module}" for module in sorted(self.imports | {"keras"})]
        lines += ["", f"{model}.compile("]
        for key in COMPILE_KEYS:
            if key in self.code:
                lines.append(f"    {key}={self.code[key]},")
        for key, value in dict(extra_compile).items():
            lines.append(f"    {key}={value!r},")
        lines.append(")")
        if self.trains:
            arguments = [self.code["x"]]
            if "y" in self.code:
                arguments.append(self.code["y"])
            arguments += [
                f"{key}={self.code[key]}"
                for key in self.code
                if key not in COMPILE_KEYS and key not in ("x", "y")
            ]
            lines.append(f"history = {model}.fit({', '.join(arguments)})")
        return "\n".join(lines)


def resolve_cell(cell: Cell, namespace: Mapping[str, Any]) -> CompileSpec:
    """Build every value of ``cell``; raise :class:`CellError` at the first problem.

    Nothing is compiled or fitted here; ``namespace`` is only read (dict lookups).
    """
    spec = CompileSpec()
    for key, node in cell.values.items():
        position = cell.positions[key]
        if key in KIND_OF_KEY:
            resolved = _component_structure(key, node, namespace, spec, position)
            target = spec.compile_args
        elif key == "loss_weights":
            resolved = _weights(node, position)
            target = spec.compile_args
        else:
            resolved = _fit_value(key, node, namespace, position)
            target = spec.fit_args
        target[key] = resolved.value
        spec.code[key] = resolved.code
        spec.imports |= resolved.imports
        if resolved.qualified is not None:
            spec.qualified[key] = resolved.qualified
    _check_fit_arguments(spec, cell)
    return spec


# -- compile values -------------------------------------------------------------------------


def _component_structure(
    key: str, node: Any, namespace: Mapping[str, Any], spec: CompileSpec, position: Position
) -> Value:
    kind = KIND_OF_KEY[key]
    if key == "optimizer":
        return _component(node, kind, namespace, spec, position)
    if isinstance(node, dict):
        items = {
            k: _component_structure(key, v, namespace, spec, position) for k, v in node.items()
        }
        return _combine(items, dict)
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
            return _build(candidate, name, [], {}, spec, position)
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


def _find(name: str, kind: str | None, position: Position) -> Any:
    from kreg import api

    try:
        return api.registry().resolve(name, kind)
    except UnknownComponentError:
        return None
    except AmbiguousComponentError as error:
        raise CellError(str(error), position.line, position.column) from None


def _unknown(name: str, kind: str | None, namespace: Mapping[str, Any], at: Position) -> CellError:
    from kreg import api
    from kreg.names import suggest

    if kind is not None:
        try:
            other = api.registry().resolve(name).entry.kind
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
    close = api.registry().suggestions(name, kind)[:3]
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
    return _build(candidate, node.name, built, dict(node.kwargs), spec, position)


def _parameter_names(entry: Any, position: Position) -> list[str]:
    from kreg.factory import accepted_arguments, make_factory

    try:
        factory = make_factory(entry)
    except (ComponentLoadError, ConfigError) as error:
        raise CellError(str(error), position.line, position.column) from None
    if inspect.isclass(factory):
        accepted, _, _ = accepted_arguments(factory)
        return accepted
    try:
        return list(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return []


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
    candidate: Any,
    spelling: str,
    arguments: list[tuple[str, Value]],
    written: dict[str, Any],
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


def _code_for(entry: Any, arguments: list[tuple[str, Value]]) -> tuple[str, frozenset[str]]:
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
    from kreg.contracts.structural import structural_report

    kind = kind or "loss"
    if _is(value, type):
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
        target = value if _is(value, types.FunctionType) else type(value)
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


# -- fit values -----------------------------------------------------------------------------


def _fit_value(key: str, node: Any, namespace: Mapping[str, Any], position: Position) -> Value:
    value = _data(node, namespace)
    checks = {
        "epochs": (lambda v: _int(v) and v >= 1, "a whole number >= 1"),
        "initial_epoch": (lambda v: _int(v) and v >= 0, "a whole number >= 0"),
        "batch_size": (lambda v: v is None or (_int(v) and v >= 1), "a whole number >= 1"),
        "validation_split": (
            lambda v: _is(v, (int, float)) and not _is(v, bool) and 0 <= v < 1,
            "a fraction in [0, 1)",
        ),
        "shuffle": (lambda v: _is(v, bool), "True or False"),
        "class_weight": (lambda v: v is None or _is(v, Mapping), "a dict {class: weight}"),
        "callbacks": (
            lambda v: v is None or _is(v, (list, tuple)),
            "a list of keras.callbacks.Callback variables",
        ),
        "validation_data": (
            lambda v: v is None or not _is(v, (int, float, str, bool)),
            "(x_val, y_val) or a dataset variable",
        ),
    }
    if key == "callbacks" and not _is(value.value, (list, tuple)) and value.value is not None:
        value = Value([value.value], f"[{value.code}]")
    if key in checks:
        accept, wanted = checks[key]
        if not accept(value.value):
            raise CellError(
                f"{key} must be {wanted}; got {value.code}", position.line, position.column
            )
    return value


def _int(value: Any) -> bool:
    return _is(value, int) and not _is(value, bool)


def _is(value: Any, classes: type | tuple[type, ...]) -> bool:
    """``isinstance`` by ``type(value)`` only: values come from the user's namespace, and
    ``isinstance`` reads ``value.__class__``, which runs code on objects that override
    attribute access. Resolution never runs code of the user's objects."""
    return issubclass(type(value), classes)


def _data(node: Any, namespace: Mapping[str, Any]) -> Value:
    if isinstance(node, Name):
        if node.name not in namespace:
            from kreg.names import suggest

            variables = {k: k for k in namespace if isinstance(k, str) and not k.startswith("_")}
            close = suggest(node.name, variables, limit=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise CellError(
                f"{node.name!r} is not a variable of the notebook.{hint}",
                node.position.line,
                node.position.column,
            )
        return Value(namespace[node.name], node.name)
    if isinstance(node, Call):
        raise CellError(
            f"{node.name}(...) is a call; data values must be variables or literals "
            "(compute them in a normal cell first)",
            node.position.line,
            node.position.column,
        )
    if isinstance(node, (list, tuple)):
        items = [_data(item, namespace) for item in node]
        code = ", ".join(v.code for v in items)
        if isinstance(node, tuple):
            return Value(tuple(v.value for v in items), f"({code}{',' if len(items) == 1 else ''})")
        return Value([v.value for v in items], f"[{code}]")
    if isinstance(node, dict):
        items = {k: _data(v, namespace) for k, v in node.items()}
        return Value(
            {k: v.value for k, v in items.items()},
            "{" + ", ".join(f"{k!r}: {v.code}" for k, v in items.items()) + "}",
        )
    return Value(node, repr(node))


def _check_fit_arguments(spec: CompileSpec, cell: Cell) -> None:
    fit_keys = [k for k in spec.fit_args if k != "x"]
    if "x" not in spec.fit_args and fit_keys:
        position = cell.positions[fit_keys[0]]
        raise CellError(
            f"{fit_keys[0]} is a fit() argument but the cell has no x; add `x = ...` to train, "
            "or remove it to only compile",
            position.line,
            position.column,
        )
    x = spec.fit_args.get("x")
    if x is not None and is_dataset(x):
        for key in ("y", "validation_split", "batch_size", "sample_weight"):
            if key in spec.fit_args and spec.fit_args[key] is not None:
                position = cell.positions[key]
                raise CellError(
                    f"x is a dataset, which carries its own targets and batches: remove {key}",
                    position.line,
                    position.column,
                )


def is_dataset(value: Any) -> bool:
    """Whether ``value`` is a ``tf.data.Dataset`` (checked by type, without importing TensorFlow).

    Example:
        >>> is_dataset([1, 2])
        False
    """
    return type(value).__module__.startswith("tensorflow") and "Dataset" in type(value).__name__
