"""Fit values of a cell: data variables, epochs, batch size, validation... checked by type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kreg.cell.parse import Call, Cell, Name, Position
from kreg.cell.spec import CompileSpec, Value, has_type
from kreg.errors import CellError


def fit_value(key: str, node: Any, namespace: Mapping[str, Any], position: Position) -> Value:
    """The value of fit key ``key``: variables looked up, literals checked by type.

    Example:
        >>> from kreg.cell.parse import Position
        >>> fit_value("epochs", 3, {}, Position(2, 1)).value
        3
    """
    value = _data(node, namespace)
    checks = {
        "epochs": (lambda v: _int(v) and v >= 1, "a whole number >= 1"),
        "initial_epoch": (lambda v: _int(v) and v >= 0, "a whole number >= 0"),
        "batch_size": (lambda v: v is None or (_int(v) and v >= 1), "a whole number >= 1"),
        "validation_split": (
            lambda v: has_type(v, (int, float)) and not has_type(v, bool) and 0 <= v < 1,
            "a fraction in [0, 1)",
        ),
        "shuffle": (lambda v: has_type(v, bool), "True or False"),
        "class_weight": (lambda v: v is None or has_type(v, Mapping), "a dict {class: weight}"),
        "callbacks": (
            lambda v: v is None or has_type(v, (list, tuple)),
            "a list of keras.callbacks.Callback variables",
        ),
        "validation_data": (
            lambda v: v is None or not has_type(v, (int, float, str, bool)),
            "(x_val, y_val) or a dataset variable",
        ),
    }
    if key == "callbacks" and not has_type(value.value, (list, tuple)) and value.value is not None:
        value = Value([value.value], f"[{value.code}]")
    if key in checks:
        accept, wanted = checks[key]
        if not accept(value.value):
            raise CellError(
                f"{key} must be {wanted}; got {value.code}", position.line, position.column
            )
    return value


def _int(value: Any) -> bool:
    return has_type(value, int) and not has_type(value, bool)


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
        values = {k: _data(v, namespace) for k, v in node.items()}
        return Value(
            {k: v.value for k, v in values.items()},
            "{" + ", ".join(f"{k!r}: {v.code}" for k, v in values.items()) + "}",
        )
    return Value(node, repr(node))


def check_fit_arguments(spec: CompileSpec, cell: Cell) -> None:
    """Refuse fit keys without ``x``, and keys a dataset ``x`` carries itself.

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> check_fit_arguments(CompileSpec(fit_args={"epochs": 2}), parse_cell("epochs = 2"))
        Traceback (most recent call last):
        ...
        kreg.errors.CellError: line 2, column 1: epochs is a fit() argument but the cell has no x...
    """
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
