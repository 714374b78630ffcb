"""The reliability tally: cases tried and passed per area, printed at the end of the suite.

Fuzzing, fault-injection and "nothing lost" tests call :func:`record` (or use
:func:`case`); ``conftest.pytest_terminal_summary`` prints the table and writes
it to ``build/reliability.md`` (the README's reliability section quotes it).

Example:
    >>> with case("doctest: arithmetic"):
    ...     assert 1 + 1 == 2
    >>> TALLY["doctest: arithmetic"][:2]
    [1, 1]
    >>> del TALLY["doctest: arithmetic"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings

TALLY: dict[str, list[int]] = {}
"""area -> [tried, passed]."""


def record(area: str, tried: int, passed: int) -> None:
    """Add ``tried`` cases, ``passed`` of which behaved, to ``area``."""
    counts = TALLY.setdefault(area, [0, 0])
    counts[0] += tried
    counts[1] += passed


@contextmanager
def case(area: str) -> Iterator[None]:
    """One case of ``area``: counted as tried, and as passed if the block raises nothing."""
    record(area, 1, 0)
    yield
    TALLY[area][1] += 1


def fuzz_settings(examples: int, **extra: object) -> settings:
    """Hypothesis settings for the fuzzers: deterministic, no deadline, no example database."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def table() -> str:
    """The tally as a Markdown table (empty string when nothing was recorded)."""
    if not TALLY:
        return ""
    lines = ["| area | cases tried | cases passed |", "| --- | ---: | ---: |"]
    for area in sorted(TALLY):
        tried, passed = TALLY[area]
        lines.append(f"| {area} | {tried:,} | {passed:,} |")
    tried = sum(t for t, _ in TALLY.values())
    passed = sum(p for _, p in TALLY.values())
    lines.append(f"| **all** | **{tried:,}** | **{passed:,}** |")
    return "\n".join(lines)


def write(folder: Path) -> Path | None:
    """Write the table to ``folder/reliability.md``; return its path (None if empty)."""
    text = table()
    if not text:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reliability.md"
    path.write_text(text + "\n")
    return path
