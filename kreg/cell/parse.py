"""The ``%%kcompile`` cell grammar, parsed with :mod:`ast` and never evaluated.

A cell body is ``key = value`` lines (a value may continue inside brackets;
``#`` comments). Values are literals (numbers, strings, lists, tuples, dicts,
``None``/``True``/``False``, unary minus), bare names, and calls of bare names
with literal or nested-call arguments. Everything else (attributes,
subscripts, lambdas, operators, comprehensions, f-strings, starred arguments,
dunder names...) is refused with the line and column. What a name means
(registry component or user variable) is decided later, by :mod:`kreg.cell.resolve`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from kreg.errors import CellError

COMPILE_KEYS = ("loss", "optimizer", "metrics", "loss_weights", "weighted_metrics")
FIT_KEYS = (
    "x",
    "y",
    "validation_data",
    "validation_split",
    "epochs",
    "batch_size",
    "class_weight",
    "sample_weight",
    "callbacks",
    "initial_epoch",
    "shuffle",
)
KEYS = COMPILE_KEYS + FIT_KEYS
COMPARABLE_KEYS = (*COMPILE_KEYS, "epochs", "batch_size")
"""The keys that may hold ``compare(...)``: every run trains on the same data."""
KIND_OF_KEY = {"loss": "loss", "optimizer": "optimizer", "metrics": "metric"}
KIND_OF_KEY["weighted_metrics"] = "metric"
"""The registry kind a component under each compile key is looked up in."""
KIND_OF_ARGUMENT = {"learning_rate": "schedule", "optimizer": "optimizer", "loss": "loss"}
"""The kind of a component passed as one of these arguments (a schedule as learning_rate)."""
MAX_CELL_CHARACTERS = 100_000
MAX_DEPTH = 32
MAX_INT_BITS = 4096
"""Integer literals beyond +-2**4096 (1,233 digits) are refused: no Keras argument needs one."""
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

_REFUSED = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[b])",
    ast.Lambda: "a lambda",
    ast.BinOp: "an arithmetic operator",
    ast.BoolOp: "and/or",
    ast.Compare: "a comparison",
    ast.IfExp: "a conditional expression",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "the walrus operator",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Starred: "a starred expression",
    ast.Set: "a set",
    ast.Slice: "a slice",
}


@dataclass(frozen=True)
class Position:
    """Where something is in the cell: 1-based line (the magic line is line 1) and column."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


@dataclass(frozen=True)
class Name:
    """A bare name: a registry component or a variable of the user's namespace."""

    name: str
    position: Position


@dataclass(frozen=True)
class Call:
    """``name(arg, key=value)``: a registry component built with arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    position: Position


@dataclass(frozen=True)
class Quoted:
    """A string in a component position (``loss = "huber"``): a registry name."""

    text: str
    position: Position


@dataclass(frozen=True)
class Compare:
    """``key = compare(a, b, ...)``: alternatives for one key, each trained in its own run.

    ``texts`` are the alternatives as written (``sgd(momentum=0.9)``), for labels.
    """

    alternatives: tuple[Any, ...]
    texts: tuple[str, ...]
    position: Position


COMPARE = "compare"
"""The name that marks alternatives: ``optimizer = compare(adam, sgd(momentum=0.9))``."""


@dataclass
class Cell:
    """A parsed cell: each key's value tree and where it was written."""

    values: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)


def parse_cell(body: str, first_line: int = 2) -> Cell:
    """Parse a ``%%kcompile`` body into a :class:`Cell`, or raise :class:`CellError`.

    ``first_line`` is the cell line the body starts on (2: after the magic line).

    Example:
        >>> cell = parse_cell("loss = huber(delta=1.5)\\nepochs = 3")
        >>> cell.values["loss"].name, dict(cell.values["loss"].kwargs), cell.values["epochs"]
        ('huber', {'delta': 1.5}, 3)
    """
    if len(body) > MAX_CELL_CHARACTERS:
        raise CellError(
            f"the cell has {len(body):,} characters; kreg reads at most "
            f"{MAX_CELL_CHARACTERS:,}. Pass big values as variables (x = x_train).",
            first_line,
            1,
        )
    source = _Source(body, first_line)
    try:
        tree = ast.parse(body, mode="exec")
    except SyntaxError as error:
        line = max(1, error.lineno or 1) + first_line - 1
        raise CellError(
            f"not a `key = value` line ({error.msg})", line, _syntax_column(error, body)
        ) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:
        raise CellError(
            f"the cell cannot be read ({type(error).__name__}: {str(error)[:120]})",
            first_line,
            1,
        ) from None
    cell = Cell()
    for statement in tree.body:
        key, value_node = _assignment(statement, source)
        position = source.position(statement)
        if key in cell.values:
            raise CellError(
                f"{key!r} is set twice (first on {cell.positions[key]}); keep one",
                position.line,
                position.column,
            )
        if _is_compare(value_node):
            cell.values[key] = _compare(key, value_node, source, body)
        else:
            cell.values[key] = _value(value_node, source, 0)
        cell.positions[key] = position
    return cell


def _is_compare(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == COMPARE
    )


def _compare(key: str, node: ast.expr, source: _Source, body: str) -> Compare:
    """``compare(a, b, ...)`` as a key's whole value: two alternatives or more, no keywords."""
    assert isinstance(node, ast.Call)
    position = source.position(node)
    if key not in COMPARABLE_KEYS:
        raise CellError(
            f"{key} cannot hold alternatives: compare(...) is for {', '.join(COMPARABLE_KEYS)} "
            "(every run trains on the same data)",
            position.line,
            position.column,
        )
    if node.keywords or len(node.args) < 2:
        raise CellError(
            "compare(...) takes two alternatives or more, each as the key would take it: "
            "optimizer = compare(adam, sgd(momentum=0.9))",
            position.line,
            position.column,
        )
    alternatives = tuple(_value(arg, source, 1) for arg in node.args)
    texts = tuple(
        " ".join((ast.get_source_segment(body, arg) or ast.unparse(arg)).split())
        for arg in node.args
    )
    return Compare(alternatives, texts, position)


def _syntax_column(error: SyntaxError, body: str) -> int:
    """The 1-based column of a SyntaxError in its own physical line.

    Python counts ``offset`` from the start of ``error.text``, which is the whole logical
    line: after a backslash continuation it spans several physical lines.
    """
    column = max(1, error.offset or 1)
    for part in (error.text or "").split("\n")[:-1]:
        if column <= len(part) + 1:
            break
        column -= len(part) + 1
    lines = body.splitlines() or [""]
    index = min(max(1, error.lineno or 1), len(lines)) - 1
    return max(1, min(column, len(lines[index]) + 1))


class _Source:
    """The cell's lines, to turn :mod:`ast`'s (line, UTF-8 byte offset) into a Position."""

    def __init__(self, body: str, first_line: int) -> None:
        self.lines = _LINE_BREAK.split(body)
        self.first_line = first_line

    def position(self, node: ast.AST) -> Position:
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        if 1 <= line <= len(self.lines) and offset > 0:
            # ast counts UTF-8 bytes; people (and editors) count characters.
            text = self.lines[line - 1].encode("utf-8", "surrogatepass")[:offset]
            offset = len(text.decode("utf-8", "ignore"))
        return Position(line + self.first_line - 1, offset + 1)


def _assignment(statement: ast.stmt, source: _Source) -> tuple[str, ast.expr]:
    position = source.position(statement)
    if not isinstance(statement, ast.Assign):
        what = type(statement).__name__.lower()
        raise CellError(
            f"only `key = value` lines are allowed, not a {what} statement",
            position.line,
            position.column,
        )
    if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
        raise CellError(
            "write one `key = value` per line, with a plain key on the left",
            position.line,
            position.column,
        )
    key = statement.targets[0].id
    if key not in KEYS:
        from kreg.names import MAX_SUGGESTED_LENGTH, suggest

        close = suggest(key, {k: k for k in KEYS}, limit=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        shown = key if len(key) <= MAX_SUGGESTED_LENGTH else key[:MAX_SUGGESTED_LENGTH] + "…"
        raise CellError(
            f"unknown key {shown!r}.{hint} Keys: {', '.join(KEYS)}",
            position.line,
            position.column,
        )
    return key, statement.value


def _value(node: ast.expr, source: _Source, depth: int) -> Any:
    position = source.position(node)
    if depth > MAX_DEPTH:
        raise CellError(
            f"values nest more than {MAX_DEPTH} levels deep", position.line, position.column
        )
    if isinstance(node, ast.Constant):
        if type(node.value) is int and node.value.bit_length() > MAX_INT_BITS:
            raise CellError(
                f"this integer has more than {MAX_INT_BITS} bits; kreg accepts integers up to "
                f"2**{MAX_INT_BITS}",
                position.line,
                position.column,
            )
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return node.value
        raise CellError(
            f"{type(node.value).__name__} literals are not allowed",
            position.line,
            position.column,
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        number = operand.value if isinstance(operand, ast.Constant) else None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            _value(operand, source, depth + 1)  # the size check
            return -number if isinstance(node.op, ast.USub) else number
        raise CellError("a sign may only precede a number", position.line, position.column)
    if isinstance(node, ast.Name):
        _check_name(node.id, position)
        return Name(node.id, position)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(item, source, depth + 1) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        result = {}
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:
                raise CellError("`**` unpacking is not allowed", position.line, position.column)
            key = _value(key_node, source, depth + 1)
            if not isinstance(key, (str, int, float, bool, Name)):
                key_position = source.position(key_node)
                raise CellError(
                    "dict keys must be strings, numbers or output names",
                    key_position.line,
                    key_position.column,
                )
            result[key.name if isinstance(key, Name) else key] = _value(
                value_node, source, depth + 1
            )
        return result
    if isinstance(node, ast.Call):
        return _call(node, source, depth, position)
    what = _REFUSED.get(type(node), f"a {type(node).__name__} expression")
    raise CellError(
        f"{what} is not allowed: kreg never runs code from the cell. Compute it in a "
        "normal cell first and pass the variable (x = x_train)",
        position.line,
        position.column,
    )


def _call(node: ast.Call, source: _Source, depth: int, position: Position) -> Call:
    if not isinstance(node.func, ast.Name):
        what = _REFUSED.get(type(node.func), "this call")
        raise CellError(
            f"only registry components can be called (huber(delta=1.5)); {what} is not allowed",
            position.line,
            position.column,
        )
    _check_name(node.func.id, position)
    if node.func.id == COMPARE:
        raise CellError(
            "compare(...) must be a key's whole value (optimizer = compare(adam, sgd)), not "
            "inside another value",
            position.line,
            position.column,
        )
    args = tuple(_value(arg, source, depth + 1) for arg in node.args)
    kwargs = []
    for keyword in node.keywords:
        if keyword.arg is None:
            raise CellError("`**` unpacking is not allowed", position.line, position.column)
        _check_name(keyword.arg, position)
        kwargs.append((keyword.arg, _value(keyword.value, source, depth + 1)))
    return Call(node.func.id, args, tuple(kwargs), position)


def _check_name(name: str, position: Position) -> None:
    if name.startswith("__") or name.startswith("_"):
        raise CellError(
            f"names starting with '_' ({name!r}) are not allowed", position.line, position.column
        )
