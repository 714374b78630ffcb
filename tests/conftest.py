"""Shared fixtures: one Keras import per test process, and real fake-plugin distributions."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kreg
from kreg.registry.index import Index
from tests.fake_plugins import ALL, SUPPORT_MODULES, build_site

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def keras():
    """Keras, imported once for the whole session (TensorFlow's import costs seconds)."""
    import keras as keras_module

    keras_module.utils.set_random_seed(0)
    return keras_module


@pytest.fixture(scope="session")
def ip(keras):
    """The process's IPython shell with ``%load_ext kreg`` done (a real shell, not a kernel)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kreg")
    return shell


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding installed-looking plugin distributions (dist-info + entry points)."""
    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture
def use_plugins(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``use_plugins("acme", "raising")``: make only those fake plugins installed, then reload."""

    def activate(*names: str, env: dict[str, str] | None = None) -> Index:
        monkeypatch.setenv("KREG_PLUGINS", ",".join(names))
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        return kreg.reload()

    sys.path.insert(0, str(plugin_site))
    importlib.invalidate_caches()
    try:
        yield activate
    finally:
        sys.path.remove(str(plugin_site))
        for _, module, _ in ALL.values():
            sys.modules.pop(module, None)
        for module in SUPPORT_MODULES:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        monkeypatch.undo()
        kreg.reload()


@pytest.fixture(scope="module")
def realcases(plugin_site: Path) -> Iterator[Any]:
    """The plugin ``realcases`` (tests/realcases) as the only third-party plugin.

    Returns ``report(name)``: ``kreg.check`` of ``realcases:<name>``, cached for the module,
    without the one-time warnings ``kreg.get`` gives for components it repaired.
    """
    reports: dict[str, Any] = {}

    def report(name: str) -> Any:
        if name not in reports:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reports[name] = kreg.check(f"realcases:{name}")
        return reports[name]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KREG_PLUGINS", "realcases")
        patch.syspath_prepend(str(plugin_site))
        kreg.reload()
        yield report
    sys.modules.pop("realcases_plugin", None)
    importlib.invalidate_caches()
    kreg.reload()


def subprocess_env(*paths: Path, **extra: str) -> dict[str, str]:
    """Environment for a child Python that sees the project and ``paths``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(ROOT)])
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(extra)
    return env


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability tally (fuzzing, faults, nothing lost) at the end of the suite."""
    from tests import reliability

    text = reliability.table()
    if text:
        terminalreporter.section("reliability: cases tried and passed")
        terminalreporter.write_line(text)
        path = reliability.write(ROOT / "build")
        terminalreporter.write_line(f"(also written to {path.relative_to(ROOT)})")
