"""Resolve a parsed ``%%kcompile`` cell into a :class:`~kreg.cell.spec.CompileSpec`.

Resolution builds every component (registry names through the registry, bare
names that are not registered from the user's namespace) before anything
touches the model, so a bad cell changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kreg.cell.components import compile_value
from kreg.cell.data import check_fit_arguments, fit_value
from kreg.cell.parse import COMPILE_KEYS, Cell
from kreg.cell.spec import CompileSpec


def resolve_cell(cell: Cell, namespace: Mapping[str, Any]) -> CompileSpec:
    """Build every value of ``cell``; raise :class:`CellError` at the first problem.

    Nothing is compiled or fitted here; ``namespace`` is only read (dict lookups).

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> cell = parse_cell("loss = huber(delta=1.5)\\nx = data\\nepochs = 2")
        >>> spec = resolve_cell(cell, {"data": [[1.0]]})
        >>> type(spec.compile_args["loss"]).__name__, spec.fit_args["epochs"]
        ('Huber', 2)
        >>> spec.code["loss"]
        'keras.losses.Huber(delta=1.5)'
    """
    spec = CompileSpec()
    for key, node in cell.values.items():
        position = cell.positions[key]
        if key in COMPILE_KEYS:
            resolved = compile_value(key, node, namespace, spec, position)
            target = spec.compile_args
        else:
            resolved = fit_value(key, node, namespace, position)
            target = spec.fit_args
        target[key] = resolved.value
        spec.code[key] = resolved.code
        spec.imports |= resolved.imports
        if resolved.qualified is not None:
            spec.qualified[key] = resolved.qualified
    check_fit_arguments(spec, cell)
    return spec
