"""Test helpers for plugin authors; also a pytest plugin (entry point ``pytest11``).

Two ways to check every component a plugin registers::

    from kreg.testing import assert_follows_contract, each_entry

    @each_entry("my_plugin")
    def test_contract(entry):
        assert_follows_contract(entry)

    # or, with the pytest plugin's marker and its ``kreg_entry`` argument:
    @pytest.mark.kreg_entries("my_plugin")
    def test_contract_too(kreg_entry):
        assert_follows_contract(kreg_entry)

Importing this module imports neither TensorFlow nor pytest.
"""

from __future__ import annotations

from typing import Any

from kreg.errors import KregError
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry

MARKER = "kreg_entries"


def assert_follows_contract(obj: Any, kind: str | None = None, *, example: Any = None) -> Any:
    """Run :func:`kreg.check` and fail the test with the full report unless it passed.

    Warnings (XLA, mixed precision) do not fail; the report is returned.

    Example:
        >>> report = assert_follows_contract("huber")
        >>> report.ok
        True
    """
    from kreg.registry.checking import check

    report = check(obj, kind, example=example)
    if not report.ok:
        raise AssertionError(f"{report.subject} breaks its Keras contract:\n{report}")
    return report


def plugin_entries(plugin: str, kind: str | None = None) -> list[Entry]:
    """Every entry ``plugin`` registers (optionally of one kind).

    Raises:
        KregError: the plugin provides nothing (not installed, disabled or failed).

    Example:
        >>> len(plugin_entries("keras", "schedule")) >= 6
        True
    """
    found = [e for e in CATALOG.entries(kind) if e.plugin == plugin]
    if not found:
        status = {p.name: p.status for p in CATALOG.plugins()}
        why = (
            f"its status is {status[plugin]!r}: see `kreg plugins`"
            if plugin in status
            else f"it is not installed (plugins: {sorted(status)})"
        )
        raise KregError(f"plugin {plugin!r} registers no {kind or 'entries'}: {why}")
    return found


def each_entry(plugin: str, kind: str | None = None, argument: str = "entry") -> Any:
    """Parametrize a test over every entry ``plugin`` registers, one test id per entry.

    Example:
        >>> mark = each_entry("keras", "schedule")
        >>> mark.args[0], len(mark.args[1]) >= 6
        ('entry', True)
    """
    import pytest

    found = plugin_entries(plugin, kind)
    return pytest.mark.parametrize(argument, found, ids=[e.qualified_name for e in found])


def pytest_configure(config: Any) -> None:
    """Declare the ``kreg_entries`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(plugin, kind=None): run the test once per entry the plugin registers, "
        "passed as the `kreg_entry` argument",
    )


def pytest_generate_tests(metafunc: Any) -> None:
    """Parametrize ``kreg_entry`` for tests marked ``@pytest.mark.kreg_entries(plugin)``."""
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None or "kreg_entry" not in metafunc.fixturenames:
        return
    found = plugin_entries(*marker.args, **marker.kwargs)
    metafunc.parametrize("kreg_entry", found, ids=[e.qualified_name for e in found])
