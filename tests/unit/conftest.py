"""The unit layer: the registry and the cell grammar without TensorFlow or Keras.

``make test-unit`` runs only this folder, in seconds. When only these tests ran, the
session fails if anything imported TensorFlow or Keras: that is what keeps them fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a unit-only session that imported TensorFlow or Keras."""
    items = getattr(session, "items", [])
    only_units = bool(items) and all(HERE in Path(str(item.path)).parents for item in items)
    heavy = [name for name in ("tensorflow", "keras") if name in sys.modules]
    if only_units and heavy:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"the unit layer imported {heavy}: it must stay pure Python")
