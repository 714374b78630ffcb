"""Fuzzing the ``%%kcompile`` cell: thousands of generated cells, never a crash, hang or run.

Every generated cell goes through :func:`kreg.cell.parse.parse_cell` and
:func:`kreg.cell.resolve.resolve_cell` (a few hundred also through the real magic in
an IPython shell). Each must end as a resolved spec or a ``CellError`` /
``UsageError`` carrying a line and a column; any other exception fails the
test, each parse is bounded in time, and a canary object placed in the
namespace under many names records every attribute access, call, item,
iteration, comparison... of it: kreg must never touch it.

Hypothesis runs derandomized (the same cells every run) and bounded.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from io import StringIO
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kreg
from kreg.cell.parse import (
    FIT_KEYS,
    KEYS,
    MAX_CELL_CHARACTERS,
    MAX_INT_BITS,
    Call,
    Name,
    parse_cell,
)
from kreg.cell.resolve import resolve_cell
from kreg.cell.spec import MAX_COMPONENTS, CompileSpec
from kreg.errors import CellError
from tests import reliability
from tests.reliability import fuzz_settings

# ast.parse warns about odd escapes in generated strings ('\\L'): Python's, not kreg's.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")

AREA = "fuzz: %%kcompile cells"
HANG_SECONDS = 2.0  # a hang guard, not a benchmark: a cell takes milliseconds
HARD_STOP_SECONDS = 10.0  # SIGALRM stops a real hang so that the failure is reported
LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Examples per strategy: more than 5,000 cells in all (see test_the_fuzzer_tries_enough_cells).
BUDGET = {
    "valid": 1000,
    "mutated": 2000,
    "unicode": 1000,
    "nested": 300,
    "huge": 150,
    "code": 1500,
    "magic": 400,
}


# -- the canary ----------------------------------------------------------------------------

HITS: list[tuple[str, str]] = []  # (what, module of the code that did it)


def _hit(what: str) -> None:
    frame = sys._getframe(2)
    HITS.append((what, frame.f_globals.get("__name__", "?")))


class Canary:
    """A notebook object that records anything done to it (and never raises)."""

    def __getattribute__(self, name: str) -> Any:
        _hit(f"getattr {name}")
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        _hit(f"missing attribute {name}")
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        _hit(f"setattr {name}")

    def __delattr__(self, name: str) -> None:
        _hit(f"delattr {name}")

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        _hit("call")

    def __getitem__(self, key: Any) -> None:
        _hit("getitem")

    def __setitem__(self, key: Any, value: Any) -> None:
        _hit("setitem")

    def __iter__(self) -> Iterator[Any]:
        _hit("iter")
        return iter(())

    def __len__(self) -> int:
        _hit("len")
        return 0

    def __contains__(self, item: Any) -> bool:
        _hit("contains")
        return False

    def __bool__(self) -> bool:
        _hit("bool")
        return True

    def __eq__(self, other: object) -> bool:
        _hit("eq")
        return False

    def __ne__(self, other: object) -> bool:
        _hit("ne")
        return True

    def __hash__(self) -> int:
        _hit("hash")
        return 0

    def __repr__(self) -> str:
        _hit("repr")
        return "Canary()"

    def __str__(self) -> str:
        _hit("str")
        return "Canary()"

    def __format__(self, spec: str) -> str:
        _hit("format")
        return "Canary()"

    def __int__(self) -> int:
        _hit("int")
        return 0

    def __float__(self) -> float:
        _hit("float")
        return 0.0

    def __index__(self) -> int:
        _hit("index")
        return 0

    def __enter__(self) -> Canary:
        _hit("enter")
        return self

    def __exit__(self, *exc: Any) -> None:
        _hit("exit")

    def __await__(self) -> Iterator[Any]:
        _hit("await")
        return iter(())


CANARY = Canary()
CANARY_NAMES = (
    "canary",
    "os",
    "sys",
    "subprocess",
    "shutil",
    "builtins",
    "model",
    "x_train",
    "y_train",
    "data",
    "my_loss",
    "my_callbacks",
    "eval",
    "exec",
    "open",
    "print",
    "getattr",
    "globals",
    "breakpoint",
    "__import__",
    "__builtins__",
    "_",
)
NAMESPACE: dict[str, Any] = dict.fromkeys(CANARY_NAMES, CANARY)


# -- running one cell ----------------------------------------------------------------------


class Hang(BaseException):
    """SIGALRM past HARD_STOP_SECONDS (not an Exception: kreg's handlers cannot eat it)."""


@contextmanager
def hard_stop(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def hands_variables_to_constructors(cell: Any, namespace: dict[str, Any]) -> bool:
    """Whether the cell passes a notebook variable as a component argument (huber(delta=v))."""

    def inside(node: Any, in_call: bool) -> bool:
        if isinstance(node, Call):
            values = [*node.args, *(v for _, v in node.kwargs)]
            return any(inside(v, True) for v in values)
        if isinstance(node, Name):
            return in_call and node.name in namespace
        if isinstance(node, (list, tuple)):
            return any(inside(v, in_call) for v in node)
        if isinstance(node, dict):
            return any(inside(v, in_call) for v in node.values())
        return False

    return any(inside(v, False) for v in cell.values.values())


def check_position(error: CellError, body: str, first_line: int = 2) -> None:
    lines = LINE_BREAK.split(body)
    assert isinstance(error.line, int) and isinstance(error.column, int), error
    assert first_line <= error.line <= first_line + len(lines), (error, len(lines))
    assert error.column >= 1, error
    index = error.line - first_line
    if index < len(lines) and not error.reason.startswith("the cell cannot be read"):
        assert error.column <= len(lines[index]) + 2, (error, len(lines[index]))
    assert f"line {error.line}, column {error.column}" in str(error)


PARSER_AND_RESOLVER = (
    "kreg.cell.parse",
    "kreg.cell.resolve",
    "kreg.cell.components",
    "kreg.cell.data",
    "kreg.cell.spec",
    "kreg.training.runner",
    "kreg.ui.notebook.magics",
    "kreg.ui.notebook.runner",
)


def check_hits(body: str, namespace: dict[str, Any]) -> None:
    """Nothing touched the canary (only a component's constructor may, when handed it)."""
    try:
        cell = parse_cell(body)
    except CellError:
        cell = None
    if cell is not None and hands_variables_to_constructors(cell, namespace):
        # The cell hands a notebook variable to a component's constructor, which is what
        # `huber(delta=v)` means: Keras (and kreg's Keras 2 argument translation in
        # kreg.registry.legacy/build) may then look at it. The parser and the resolver never do.
        ours = [hit for hit in HITS if hit[1] in PARSER_AND_RESOLVER]
        assert not ours, (ours, body[:200])
    else:
        assert not HITS, (HITS[:5], body[:200])


def run_cell(body: str, namespace: dict[str, Any] = NAMESPACE) -> CompileSpec | CellError:
    """Parse and resolve ``body`` as the magic does; check the outcome, time and canary."""
    HITS.clear()
    cell = None
    started = time.perf_counter()
    with hard_stop(HARD_STOP_SECONDS):
        try:
            cell = parse_cell(body)
            outcome: CompileSpec | CellError = resolve_cell(cell, namespace)
        except CellError as error:
            outcome = error
    elapsed = time.perf_counter() - started
    assert elapsed < HANG_SECONDS, f"{elapsed:.2f} s for {body[:200]!r}"
    if isinstance(outcome, CellError):
        check_position(outcome, body)
    else:
        assert isinstance(outcome, CompileSpec)
        assert set(outcome.code) == set(cell.values)
    check_hits(body, namespace)
    return outcome


def check(body: str) -> CompileSpec | CellError:
    with reliability.case(AREA):
        return run_cell(body)


@pytest.fixture(scope="module", autouse=True)
def warm(keras: Any) -> Iterator[None]:
    """Build one component of each kind first: the first build of each pays Keras's set-up.

    Afterwards, a fresh registry: later tests expect plugin entries not yet imported.
    """
    run_cell(
        "loss = huber\noptimizer = adam(learning_rate=exponential_decay(0.1, 10, 0.5))\n"
        "metrics = [mae, auc]\nx = data\nepochs = 1"
    )
    yield
    kreg.reload()


# -- strategies ------------------------------------------------------------------------------


def _names(kind: str) -> list[str]:
    found = []
    for entry in kreg.entries(kind):
        found += [entry.name, *entry.aliases[:2]]
    return sorted(set(found))


LOSSES = _names("loss")
METRICS = _names("metric")
OPTIMIZERS = _names("optimizer")
SCHEDULES = _names("schedule")
KIND_NAMES = {"loss": LOSSES, "metric": METRICS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES}
ARGUMENT_NAMES = (
    "delta",
    "reduction",
    "name",
    "from_logits",
    "label_smoothing",
    "axis",
    "learning_rate",
    "momentum",
    "beta_1",
    "epsilon",
    "weight_decay",
    "clipnorm",
    "lr",
    "decay",
    "threshold",
    "thresholds",
    "k",
    "initial_learning_rate",
    "decay_steps",
    "decay_rate",
    "dtype",
    "nesterov",
)

small_ints = st.integers(-100, 100)
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
short_text = st.text(max_size=12)
literals = st.one_of(small_ints, floats, short_text, st.booleans(), st.none())


def render(value: Any) -> str:
    """Source text of a literal (repr), keeping -0.0, nan and inf writable."""
    if isinstance(value, float) and value != value:
        return "nan"  # a bare name: a variable or an unknown name, never code
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ("-" if value < 0 else "") + "1e999"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return repr(value)


literal_source = st.one_of(literals.map(render), st.lists(literals, max_size=3).map(render))


@st.composite
def component(draw: Any, kind: str, depth: int = 0) -> str:
    name = draw(st.sampled_from(KIND_NAMES[kind]))
    form = draw(st.sampled_from(["name", "quoted", "call", "call", "qualified"]))
    if form == "name":
        return name
    if form == "quoted":
        return repr(name)
    if form == "qualified":
        return repr(f"{kreg.lookup(name, kind).plugin}:{name}")
    arguments = []
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(ARGUMENT_NAMES))
        if key in ("learning_rate", "optimizer") and depth < 2 and draw(st.booleans()):
            value = draw(
                component("schedule" if key == "learning_rate" else "optimizer", depth + 1)
            )
        else:
            value = draw(literal_source)
        arguments.append(f"{key}={value}")
    if draw(st.integers(0, 4)) == 0:
        arguments.insert(0, draw(literal_source))
    return f"{name}({', '.join(arguments)})"


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


@st.composite
def valid_cells(draw: Any) -> str:
    """Cells in the grammar, built from real registry names, variables and literals.

    Mostly sensible values (so that many cells resolve), now and then an odd one.
    """
    keys = draw(st.lists(st.sampled_from(KEYS), unique=True, min_size=1, max_size=7))
    if any(k in FIT_KEYS for k in keys) and "x" not in keys and draw(st.integers(0, 7)):
        keys.append("x")
    lines = []
    data_names = st.sampled_from(CANARY_NAMES[:12])
    for key in keys:
        odd = draw(st.integers(0, 7)) == 0
        if key == "loss":
            value = draw(
                st.one_of(
                    component("loss"),
                    st.lists(component("loss"), min_size=1, max_size=2).map(_list),
                    st.builds(lambda a, b: f"{{'out': {a}, 'aux': {b}}}", *[component("loss")] * 2),
                )
                if not odd
                else data_names
            )
        elif key == "optimizer":
            value = draw(component("optimizer") if not odd else data_names)
        elif key in ("metrics", "weighted_metrics"):
            value = draw(
                st.one_of(
                    st.lists(component("metric"), max_size=3).map(_list),
                    component("metric"),
                )
            )
        elif key == "loss_weights":
            numbers = floats if odd else st.floats(0, 10)
            value = draw(st.one_of(numbers.map(render), st.lists(numbers, max_size=3).map(render)))
        elif key in ("x", "y", "sample_weight"):
            value = draw(literal_source if odd else data_names)
        elif key == "validation_data":
            value = draw(st.one_of(st.tuples(data_names, data_names).map(render), data_names))
            value = value.replace("'", "")
        elif key in ("epochs", "batch_size", "initial_epoch"):
            odd_values = st.one_of(st.integers(-3, 10**6), st.none(), floats)
            value = repr(draw(odd_values if odd else st.integers(1, 100)))
        elif key == "validation_split":
            value = render(
                draw(st.one_of(st.floats(-1, 2), small_ints) if odd else st.floats(0, 0.9))
            )
        elif key == "shuffle":
            value = draw(st.sampled_from(["1", "None", "'yes'"] if odd else ["True", "False"]))
        elif key == "class_weight":
            value = draw(
                st.dictionaries(st.integers(0, 5), floats, max_size=3).map(
                    lambda d: "{" + ", ".join(f"{k}: {render(v)}" for k, v in d.items()) + "}"
                )
            )
        else:  # callbacks
            value = draw(st.one_of(st.lists(data_names, max_size=2).map(_list), data_names))
            value = value.replace("'", "")
        spacing = draw(st.sampled_from([" = ", "=", "  =\t"]))
        comment = draw(st.sampled_from(["", "", "  # a comment", "# é ✓"]))
        lines.append(f"{key}{spacing}{value}{comment}")
    separator = draw(st.sampled_from(["\n", "\n\n", "\r\n", "\n# note\n"]))
    return separator.join(lines)


SEEDS = [
    "loss = huber(delta=1.5)\noptimizer = adam(learning_rate=0.01)\nmetrics = [mae, rmse]",
    "loss = 'categorical_crossentropy'\nmetrics = ['accuracy']\nx = x_train\ny = y_train",
    "optimizer = sgd(learning_rate=exponential_decay(initial_learning_rate=0.01, "
    "decay_steps=1000, decay_rate=0.9), momentum=0.9)",
    "loss = {'out': mse, 'aux': mae}\nloss_weights = {'out': 1.0, 'aux': 0.5}",
    "x = x_train\ny = y_train\nepochs = 3\nbatch_size = 32\nvalidation_split = 0.2",
    "x = data\nvalidation_data = (x_train, y_train)\ncallbacks = [my_callbacks]\nshuffle = False",
    "loss = 'keras:huber'\nmetrics = [auc(), precision(thresholds=0.5)]",
    "loss = huber \\\n  (delta=1)\nx = x_train",
    "loss = huber(\n    delta=2.0,  # wrapped\n    reduction='sum',\n)\nepochs = 1",
    "loss = my_loss\noptimizer = rmsprop(lr=0.001, decay=0.01)\nclass_weight = {0: 1.0, 1: 2.0}",
    "weighted_metrics = [mse]\nx = x_train\nsample_weight = data\ninitial_epoch = 2\nepochs = 4",
]

MUTATION_CHARACTERS = (
    "()[]{}:=,.'\"#\\\n\r\t _-+*/@!~^%&|<>;`$?0123456789abcxyzAZ"
    "\0\x0b\x0c\x1b\x7f\u00a0\u00e9\u2028\u200b\ufeff\U0001f600\ud800\udfff"
)


@st.composite
def mutated_cells(draw: Any) -> str:
    """Valid cells with characters inserted, deleted, swapped, duplicated or replaced."""
    body = draw(st.one_of(st.sampled_from(SEEDS), valid_cells()))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body)))
        operation = draw(st.sampled_from(["insert", "delete", "swap", "duplicate", "replace"]))
        char = draw(st.one_of(st.sampled_from(MUTATION_CHARACTERS), st.characters()))
        if operation == "insert":
            body = body[:at] + char + body[at:]
        elif operation == "delete":
            body = body[:at] + body[at + draw(st.integers(1, 8)) :]
        elif operation == "swap" and at + 1 < len(body):
            body = body[:at] + body[at + 1] + body[at] + body[at + 2 :]
        elif operation == "duplicate":
            body = body[:at] + body[at : at + draw(st.integers(1, 20))] + body[at:]
        else:
            body = body[:at] + char + body[at + 1 :]
    return body


any_characters = st.characters(codec=None, exclude_categories=())  # surrogates and controls too


@st.composite
def unicode_cells(draw: Any) -> str:
    """Random unicode text, alone or after a key."""
    text = draw(st.one_of(st.text(any_characters, max_size=80), st.text(max_size=200)))
    form = draw(st.integers(0, 3))
    if form == 0:
        return text
    key = draw(st.sampled_from(KEYS))
    if form == 1:
        return f"{key} = {text}"
    if form == 2:
        return f"{key} = {text!r}"  # a (valid) string literal holding anything
    return f"loss = huber(delta={text})"


NESTERS = {
    "paren": ("(", ")"),
    "list": ("[", "]"),
    "tuple": ("(1, ", ")"),
    "dict": ("{1: ", "}"),
    "call": ("huber(delta=", ")"),
    "name call": ("f(", ")"),
    "optimizer": ("sgd(learning_rate=", ")"),
    "minus": ("-", ""),
    "not": ("not ", ""),
    "lambda": ("lambda: ", ""),
    "await": ("await ", ""),
    "attribute": ("", ".a"),
    "subscript": ("", "[0]"),
    "call chain": ("", "()"),
    "starred list": ("[*", "]"),
    "fstring": ("f'{", "}'"),
}


@st.composite
def nested_cells(draw: Any) -> str:
    """Deep nesting, up to 1,200 levels, of brackets, calls, operators and chains."""
    kinds = draw(st.lists(st.sampled_from(sorted(NESTERS)), min_size=1, max_size=3))
    depth = draw(st.one_of(st.integers(1, 40), st.integers(30, 1200), st.just(1000)))
    leaf = draw(st.sampled_from(["1", "canary", "mae", "x_train", "'s'", "[]"]))
    openers = "".join(NESTERS[kinds[i % len(kinds)]][0] for i in range(depth))
    closers = "".join(NESTERS[kinds[i % len(kinds)]][1] for i in reversed(range(depth)))
    key = draw(st.sampled_from(["loss", "metrics", "x", "optimizer", "class_weight"]))
    return f"{key} = {openers}{leaf}{closers}"


@st.composite
def huge_cells(draw: Any) -> str:
    """Huge literals and bodies: 100k-digit numbers, long strings and lists, many lines."""
    size = draw(st.sampled_from([1000, 4300, 4301, 5000, 20_000, 99_990, 100_001, 150_000]))
    kind = draw(
        st.sampled_from(
            [
                "decimal",
                "hex",
                "binary",
                "negative hex",
                "float",
                "exponent",
                "string",
                "escaped string",
                "triple string",
                "name",
                "data list",
                "metric list",
                "dict",
                "lines",
                "comments",
                "argument",
                "at the limit",
            ]
        )
    )
    key = draw(st.sampled_from(["epochs", "loss", "x", "loss_weights", "validation_split"]))
    if kind == "decimal":
        return f"{key} = {'9' * size}"
    if kind == "hex":
        return f"{key} = 0x{'f' * (size // 4)}"
    if kind == "binary":
        return f"{key} = 0b{'1' * min(size, MAX_INT_BITS + draw(st.integers(-2, 2)))}"
    if kind == "negative hex":
        return f"{key} = -0x{'f' * (size // 4)}"
    if kind == "float":
        return f"{key} = {'1' * size}.5"
    if kind == "exponent":
        return f"{key} = 1e{'9' * min(size, 50)}"
    if kind == "string":
        return f"{key} = '{'a' * size}'"
    if kind == "escaped string":
        return f"{key} = '{chr(92) + 'x00' + chr(92) + 'N{BULLET}'}{'é' * (size // 8)}'"
    if kind == "triple string":
        return f'{key} = """{"line" + chr(10)}{"x" * size}"""'
    if kind == "name":
        return f"{key} = {'a' * size}"
    if kind == "data list":
        return f"x = [{'1, ' * (size // 3)}]"
    if kind == "metric list":
        return f"metrics = [{'mae, ' * min(size // 5, MAX_COMPONENTS * 4)}]"
    if kind == "dict":
        return "class_weight = {" + ", ".join(f"{i}: 1.0" for i in range(size // 8)) + "}"
    if kind == "lines":
        return "epochs = 1\n" * (size // 11)
    if kind == "comments":
        return "# hello\n" * (size // 8) + "loss = mae"
    if kind == "argument":
        return f"loss = huber(delta={'9' * min(size, 4000)}, name='{'n' * (size // 2)}')"
    body = "loss = mae\n#"
    return body + "c" * (MAX_CELL_CHARACTERS - len(body) + draw(st.integers(-1, 1)))


TARGETS = st.sampled_from(CANARY_NAMES[:-3])
CODE = [
    "{t}.a",
    "{t}.__class__",
    "{t}.__class__.__bases__[0].__subclasses__()",
    "{t}.system('touch /tmp/kreg-fuzz-pwned')",
    "__import__('os').system('touch /tmp/kreg-fuzz-pwned')",
    "__import__",
    "__builtins__",
    "{t}.__dict__",
    "{t}()",
    "{t}(1, 2)",
    "{t}[0]",
    "{t}[1:2]",
    "{t}['x']",
    "f'{{{t}}}'",
    "f'{{{t}()!r:>10}}'",
    "f'{{{t}.a}}'",
    "({t} := 1)",
    "(y := {t}())",
    "lambda: {t}()",
    "lambda {t}: {t}",
    "huber(*{t})",
    "huber(**{t})",
    "[*{t}]",
    "{{**{t}}}",
    "{{{t}}}",
    "[c for c in {t}]",
    "{{c: 1 for c in {t}}}",
    "(c for c in {t})",
    "{{c for c in {t}}}",
    "-{t}",
    "+{t}",
    "~1",
    "not {t}",
    "{t} + 1",
    "{t} if 1 else 2",
    "1 if {t} else 2",
    "{t} and 1",
    "{t} or 1",
    "{t} == 1",
    "{t} < 1",
    "await {t}",
    "(yield {t})",
    "(yield from {t})",
    "huber(delta={t}.a)",
    "huber(delta={t}())",
    "huber(__class__=1)",
    "huber(_private=1)",
    "__huber__",
    "_",
    "getattr({t}, 'system')('ls')",
    "eval('1+1')",
    "exec('import os')",
    "open('/etc/passwd')",
    "breakpoint()",
    "globals()['{t}']",
    "type({t})",
    "b'bytes'",
    "1j",
    "...",
    "huber(delta=1)(1)",
    "huber.call",
    "mae[0]",
    "'huber'.upper()",
    "adam(learning_rate=lambda step: 0.1)",
    "[mae, {t}.a]",
    "{{'a': {t}()}}",
    "{{{t}(): 1}}",
    "{{(1, 2): 1}}",
    "{{None: 1}}",
    "{{f'x': 1}}",
]
STATEMENTS = [
    "import os",
    "import os; os.system('x')",
    "from os import system",
    "from . import x",
    "def f(): pass",
    "async def f(): pass",
    "class A: pass",
    "@{t}\ndef f(): pass",
    "@{t}.a\nclass A: pass",
    "with {t}: pass",
    "with {t}() as f: pass",
    "for c in {t}: pass",
    "while {t}: pass",
    "if {t}: pass",
    "try:\n    {t}()\nexcept Exception:\n    pass",
    "{t}",
    "{t}()",
    "{t}.a = 1",
    "{t}[0] = 1",
    "{t} += 1",
    "loss += 1",
    "loss: int = 1",
    "loss: {t}",
    "loss = epochs = 1",
    "loss, epochs = 1, 2",
    "[loss] = [1]",
    "loss = 1; {t}()",
    "loss = mae; import os",
    "del {t}",
    "assert {t}",
    "raise {t}",
    "global {t}",
    "nonlocal {t}",
    "return {t}",
    "pass",
    "print({t})",
    "exec('{t}')",
    "lambda: {t}",
    "match {t}:\n    case 1:\n        pass",
    "type X = int",
    "%matplotlib inline",
    "!ls",
    "loss = huber\n\tepochs = 1",
    "if True:\n    loss = mae",
    "loss = (\n{t}.a\n)",
    "x = {t}\ny = {t}\nepochs = 2\nloss = mae\nloss = mse",
]


@st.composite
def code_cells(draw: Any) -> str:
    """Attempts to run code: attribute chains, dunders, f-strings, walrus, lambdas, imports..."""
    target = draw(TARGETS)
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(STATEMENTS)).format(t=target)
    code = draw(st.sampled_from(CODE)).format(t=target)
    key = draw(st.sampled_from([*KEYS, "lss", "__class__"]))
    wrap = draw(
        st.sampled_from(
            [
                "{}",
                "[mae, {}]",
                "huber(delta={})",
                "{{'out': {}}}",
                "sgd(learning_rate={})",
                "({},)",
                # Wide characters first: a column must count characters, not UTF-8 bytes.
                "['😀😀😀😀😀😀😀😀', {}]",
            ]
        )
    )
    before = draw(st.sampled_from(["", "loss = mae\n", "x = x_train\n", "# ok\n"]))
    return f"{before}{key} = {wrap.format(code)}"


# -- the tests ---------------------------------------------------------------------------------


def _fuzz(strategy: Any, examples: int) -> int:
    tried = [0]

    @fuzz_settings(examples, print_blob=True)
    @given(strategy)
    def run(body: str) -> None:
        tried[0] += 1
        check(body)

    run()
    return tried[0]


def test_valid_cells_resolve_or_explain():
    resolved = []

    @fuzz_settings(BUDGET["valid"], print_blob=True)
    @given(valid_cells())
    def run(body: str) -> None:
        resolved.append(isinstance(check(body), CompileSpec))

    run()
    assert len(resolved) >= BUDGET["valid"] * 0.9
    assert sum(resolved) >= len(resolved) // 4, "the valid-cell strategy resolves too rarely"


@pytest.mark.parametrize(
    ("strategy", "budget"),
    [
        (mutated_cells(), "mutated"),
        (unicode_cells(), "unicode"),
        (nested_cells(), "nested"),
        (huge_cells(), "huge"),
        (code_cells(), "code"),
    ],
    ids=["mutated", "unicode", "nested", "huge", "code"],
)
def test_generated_cells_never_crash_hang_or_run_code(strategy, budget):
    tried = _fuzz(strategy, BUDGET[budget])
    assert tried >= BUDGET[budget] * 0.9, f"hypothesis stopped after {tried} cells"


def test_code_in_cells_is_always_refused():
    """Every statement and expression of the code list is refused, wherever it is written."""
    for template in CODE + STATEMENTS:
        for target in ("canary", "os"):
            body = template.format(t=target)
            cells = [body] if template in STATEMENTS else [f"loss = {body}", f"x = [{body}]"]
            for text in cells:
                assert isinstance(check(text), CellError), text


def test_the_fuzzer_tries_enough_cells():
    """The budgets add up to the 5,000+ cells the reliability table promises."""
    code_list = 2 * (len(CODE) * 2 + len(STATEMENTS))
    assert sum(BUDGET.values()) + code_list >= 5000


# -- through the real magic -------------------------------------------------------------------


@pytest.fixture(scope="module")
def shell(keras: Any) -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "kreg")
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    # Not __builtins__ or _: IPython itself uses those entries of the namespace.
    added = {**{k: v for k, v in NAMESPACE.items() if not k.startswith("_")}, "fuzz_net": net}
    saved = {k: ip.user_ns[k] for k in added if k in ip.user_ns}
    ip.user_ns.update(added)
    try:
        yield ip
    finally:
        for key in added:
            ip.user_ns.pop(key, None)
        ip.user_ns.update(saved)


def test_cells_through_the_magic_are_usage_errors_with_a_line_and_change_nothing(shell):
    from IPython.core.error import UsageError

    net = shell.user_ns["fuzz_net"]
    weights = [w.numpy().copy() for w in net.weights]
    last_run = kreg.last_run
    outcomes = {"resolved": 0, "refused": 0}

    @fuzz_settings(BUDGET["magic"], print_blob=True)
    @given(st.one_of(valid_cells(), mutated_cells(), code_cells(), unicode_cells()))
    def run(body: str) -> None:
        with reliability.case(AREA):
            direct = run_cell(body, shell.user_ns)  # decides: --dry-run only for a good cell
            line = "fuzz_net --no-plot" + (" --dry-run" if isinstance(direct, CompileSpec) else "")
            HITS.clear()
            with hard_stop(HARD_STOP_SECONDS), redirect_stdout(StringIO()):
                try:
                    shell.run_cell_magic("kcompile", line, body)
                    outcomes["resolved"] += 1
                    assert isinstance(direct, CompileSpec), body
                except UsageError as error:
                    if not body.strip() and "cell body is empty" in str(error):
                        return  # IPython's own refusal: kreg never sees the cell
                    outcomes["refused"] += 1
                    assert isinstance(direct, CellError), (body, error)
                    assert re.search(r"line \d+, column \d+", str(error)), str(error)
                    assert str(error).split(":")[0] == str(direct).split(":")[0]
            assert shell.user_ns["fuzz_net"] is net
            assert getattr(net, "optimizer", None) is None, "the model was compiled"
            assert not getattr(net, "compiled", False), "the model was compiled"
            assert kreg.last_run is last_run
            check_hits(body, shell.user_ns)

    run()
    for before, after in zip(weights, net.weights):
        assert (before == after.numpy()).all(), "the model's weights changed"
    assert outcomes["resolved"] >= 10 and outcomes["refused"] >= 100, outcomes


# -- regressions: bugs the fuzzer found ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # repr() of an int over 4,300 digits raises ValueError: hex/binary literals parse fine.
        ("epochs = 0x" + "f" * 5000, "more than 4096 bits"),
        ("loss = -0x" + "f" * 5000, "more than 4096 bits"),
        ("loss = huber(delta=0b" + "1" * 5000 + ")", "more than 4096 bits"),
        # The decimal form fails in ast itself: still a CellError, as before.
        ("epochs = " + "9" * 5000, "Exceeds the limit"),
    ],
    ids=["hex", "negative hex", "binary argument", "decimal"],
)
def test_regression_huge_integer_literals_are_cell_errors(body, reason):
    outcome = run_cell(body)
    assert isinstance(outcome, CellError) and reason in outcome.reason
    assert outcome.line == 2


@pytest.mark.parametrize(
    "body",
    [
        "loss = " + "a" * 50_000,  # "did you mean" compared 50k characters with every name
        "x = " + "b" * 50_000,
        "a" * 50_000 + " = 1",  # the unknown key's suggestion, too
        "loss = '" + "c" * 50_000 + "'",
    ],
    ids=["component", "variable", "key", "quoted"],
)
def test_regression_long_names_are_refused_quickly(body):
    started = time.perf_counter()
    outcome = run_cell(body)
    assert isinstance(outcome, CellError)
    assert time.perf_counter() - started < 0.5
    assert len(str(outcome)) < 60_000


def test_regression_many_components_are_refused_before_building_them_all():
    started = time.perf_counter()
    outcome = run_cell("metrics = [" + "auc, " * 10_000 + "]")
    assert isinstance(outcome, CellError) and f"more than {MAX_COMPONENTS}" in outcome.reason
    assert time.perf_counter() - started < HANG_SECONDS


def test_regression_columns_count_characters_not_utf8_bytes():
    outcome = run_cell("loss = huber(delta='héé✓')\nmetrics = [mae, 'ééé', canary.a]")
    assert isinstance(outcome, CellError)
    assert (outcome.line, outcome.column) == (3, 24)  # where `canary.a` starts, in characters


def test_regression_syntax_columns_after_a_line_continuation_are_in_their_own_line():
    # Python counts the offset from the start of the logical line (both physical lines).
    outcome = run_cell("losloss = huber \\\n= huber \\(\n  (delta=1)\nx = x_train")
    assert isinstance(outcome, CellError)
    assert (outcome.line, outcome.column) == (3, 10)  # the `(` after the second backslash


@pytest.mark.parametrize(
    "body",
    [
        "loss = canary",
        "metrics = [canary, os]",
        "optimizer = model",
        "x = canary\ncallbacks = canary",
        "x = canary\nclass_weight = canary",
        "x = canary\nvalidation_data = canary",
        "x = canary\nepochs = canary",
        "x = canary\nvalidation_split = canary",
        "x = canary\nshuffle = canary",
        "x = canary\nbatch_size = sys",
    ],
)
def test_regression_resolution_never_touches_notebook_objects(body):
    """isinstance() reads obj.__class__ (code of the object); resolution checks type(obj)."""
    run_cell(body)  # asserts that the canary recorded nothing


def test_regression_user_components_are_still_checked_by_type(keras):
    def my_loss(y_true, y_pred):
        return keras.ops.mean(y_pred - y_true, axis=-1)

    spec = resolve_cell(
        parse_cell("loss = my_loss\noptimizer = opt"),
        {
            "my_loss": my_loss,
            "opt": keras.optimizers.SGD(),
        },
    )
    assert spec.compile_args["loss"] is my_loss
    assert isinstance(spec.compile_args["optimizer"], keras.optimizers.SGD)
    refused = run_cell("loss = m", {"m": 3})
    assert isinstance(refused, CellError) and "not a Keras loss" in refused.reason


def test_regression_the_hang_guard_stops_a_hang():
    with pytest.raises(Hang), hard_stop(0.05):
        while True:
            time.sleep(0.01)
