"""A cell with ``compare(...)`` values, expanded into one plain cell per run.

Several keys with alternatives give their cross product, in the order written (the
first key varies slowest). Each run is labelled by its differing settings only,
``optimizer=sgd(momentum=0.9)``, as the table, the legend and the progress line show it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from kreg.cell.parse import COMPARABLE_KEYS, Cell, Compare
from kreg.errors import CellError

__all__ = ["COMPARABLE_KEYS", "MAX_RUNS", "Alternative", "compared_keys", "expand"]
MAX_RUNS = 16
"""A comparison trains at most this many runs."""


@dataclass(frozen=True)
class Alternative:
    """One run of a comparison: a plain cell and the settings that set it apart.

    Example:
        >>> Alternative(Cell(), {"optimizer": "adam", "loss": "mse"}).label
        'optimizer=adam, loss=mse'
    """

    cell: Cell
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The differing settings as ``key=value`` pairs (the legend's text)."""
        return ", ".join(f"{key}={text}" for key, text in self.settings.items()) or "run"


def compared_keys(cell: Cell) -> list[str]:
    """The keys of ``cell`` that hold ``compare(...)``, in the order written.

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> compared_keys(parse_cell("loss = mse\\noptimizer = compare(adam, sgd)"))
        ['optimizer']
    """
    return [key for key, value in cell.values.items() if isinstance(value, Compare)]


def expand(cell: Cell) -> list[Alternative]:
    """One :class:`Alternative` per run: the cross product of every ``compare(...)``.

    A cell without ``compare(...)`` gives itself, with no settings.

    Raises:
        CellError: more than :data:`MAX_RUNS` runs (the message gives the count).

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> cell = parse_cell(
        ...     "optimizer = compare(adam, sgd(momentum=0.9))\\nepochs = compare(2, 4)"
        ... )
        >>> [run.label for run in expand(cell)]  # doctest: +NORMALIZE_WHITESPACE
        ['optimizer=adam, epochs=2', 'optimizer=adam, epochs=4',
         'optimizer=sgd(momentum=0.9), epochs=2', 'optimizer=sgd(momentum=0.9), epochs=4']
    """
    keys = compared_keys(cell)
    if not keys:
        return [Alternative(cell)]
    choices: list[Compare] = [cell.values[key] for key in keys]
    count = 1
    for compared in choices:
        count *= len(compared.alternatives)
    if count > MAX_RUNS:
        sizes = " x ".join(str(len(c.alternatives)) for c in choices)
        first = cell.positions[keys[0]]
        raise CellError(
            f"compare(...) asks for {count} runs ({sizes}); kreg trains at most {MAX_RUNS} in "
            "one cell: drop alternatives, or split the comparison over cells",
            first.line,
            first.column,
        )
    runs = []
    for picks in itertools.product(*(range(len(c.alternatives)) for c in choices)):
        values = dict(cell.values)
        settings = {}
        for key, compared, pick in zip(keys, choices, picks):
            values[key] = compared.alternatives[pick]
            settings[key] = compared.texts[pick]
        runs.append(Alternative(Cell(values, dict(cell.positions)), settings))
    return runs
