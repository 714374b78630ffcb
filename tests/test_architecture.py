"""The layout of ``kreg/``: layers whose imports point down only, no cycles, small modules.

Every module is parsed with :mod:`ast`. Imports inside functions count (they are edges
too); imports under ``if TYPE_CHECKING:`` do not (they exist only for type checkers).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, subprocess_env

PACKAGE = ROOT / "kreg"
MAX_LINES = 400

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("kreg.errors", "kreg.settings", "kreg.names", "kreg.versions", "kreg.warn")),
    ("kerasext", ("kreg.kerasext",)),
    ("contracts", ("kreg.contracts",)),
    ("registry", ("kreg.registry",)),
    ("cell", ("kreg.cell",)),
    ("preflight", ("kreg.preflight_checks",)),
    ("training", ("kreg.training",)),
    ("ui", ("kreg.ui",)),
    ("public", ("kreg", "kreg.__main__", "kreg.testing", "kreg.widgets")),
)
"""Lowest first: a module may import its own layer and the layers before it, never after."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of the longest prefix naming ``module``'s layer."""
    best, found = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} belongs to no layer: add it to LAYERS"
    return found


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(module: str) -> set[str]:
    """The kreg modules ``module`` imports, function-level imports included."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            # `from package import module` imports that module; `from module import name`
            # imports the module (a package's __init__ runs for any of its modules anyway).
            named = [f"{base}.{alias.name}" for alias in node.names]
            targets = [name for name in named if name in MODULES] or [base]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


EDGES = {module: imports_of(module) for module in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in EDGES[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(EDGES):
        if node not in index:
            visit(node)
    return found


def test_every_module_belongs_to_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_import_cycles():
    assert cycles() == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in EDGES.items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by responsibility"


def test_the_checker_sees_what_it_must():
    """The rules catch what they are for: a function-level import, a relative one, a cycle."""
    assert "kreg.registry.build" in EDGES["kreg.registry.entry"]
    assert "kreg.contracts.structural" in EDGES["kreg.registry.build"], "function-level import"
    assert "kreg.training.run" not in EDGES["kreg.errors"], "TYPE_CHECKING imports do not count"
    assert layer_of("kreg.ui.liveview.view") > layer_of("kreg.training.fit")
    EDGES["kreg.names"].add("kreg.settings")
    try:
        assert ["kreg.names", "kreg.settings"] in cycles()
    finally:
        EDGES["kreg.names"].discard("kreg.settings")


def test_the_unit_layer_runs_without_tensorflow():
    """``make test-unit``: its session fails if anything imported TensorFlow or Keras."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "imported" not in done.stdout
