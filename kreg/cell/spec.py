"""CompileSpec: a ``%%kcompile`` cell resolved into Keras objects, with the plain Keras code.

Each value carries the Python code that reproduces it with plain Keras, for
``--dry-run`` and ``Run.to_code()``, and where it came from (a registry component
by qualified name and config, or a variable of the notebook), for exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kreg.cell.parse import COMPILE_KEYS

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

    Made by :func:`kreg.cell.resolve.resolve_cell`.

    Example:
        >>> spec = CompileSpec(fit_args={"x": [[1.0]], "epochs": 2})
        >>> spec.trains, spec.components
        (True, 0)
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

    def to_code(self, model: str = "model", extra_compile: Mapping[str, Any] | None = None) -> str:
        """Plain Keras code doing the same compile (and fit): what kreg runs, without kreg.

        Example:
            >>> from kreg.cell.parse import parse_cell
            >>> from kreg.cell.resolve import resolve_cell
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
        for key, value in dict(extra_compile or {}).items():
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


def has_type(value: Any, classes: type | tuple[type, ...]) -> bool:
    """``isinstance`` by ``type(value)`` only: values come from the user's namespace, and
    ``isinstance`` reads ``value.__class__``, which runs code on objects that override
    attribute access. Resolution never runs code of the user's objects."""
    return issubclass(type(value), classes)
