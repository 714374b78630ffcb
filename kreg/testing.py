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

import json
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterable
from typing import Any

from kreg.errors import KregError
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry

MARKER = "kreg_entries"

# The checks that show a loss or metric was really exercised: a verdict that skipped one of
# them (no example the check could use) proves less than it says.
MUST_RUN = {
    "loss": ("per_sample", "reductions", "sample_weight", "gradient", "tf_function"),
    "metric": ("update_and_result", "reset_state", "streaming", "sample_weight", "tf_function"),
}


def must_run_on_this_backend(kind: str) -> tuple[str, ...]:
    """:data:`MUST_RUN` for ``kind`` as this backend names and runs its checks.

    JAX calls the compiled check ``compiled``; PyTorch compiles nothing by default, so its
    ``compiled`` check is skipped (not applicable) and not required.

    Example:
        >>> must_run_on_this_backend("optimizer")
        ()
    """
    from kreg.kerasext.backend import JAX, TENSORFLOW, backend_name

    required = MUST_RUN.get(kind, ())
    backend = backend_name()
    if backend == TENSORFLOW:
        return required
    compiled = ("compiled",) if backend == JAX else ()
    return tuple(n for n in required if n != "tf_function") + (compiled if required else ())


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


def assert_verdict(
    report: Any,
    verdict: str,
    failing: Iterable[str] = (),
    *,
    warning: Iterable[str] = (),
    defects: Iterable[str] = (),
    must_run: Iterable[str] = (),
) -> None:
    """Assert a :class:`kreg.contracts.Report` says what the truth says, check by check.

    ``verdict`` is ``"ok"`` or ``"failed"``; every check passes but those in ``failing``,
    which fail, and those in ``warning``, which warn (an ``eager-only`` metric's
    ``tf_function``). Rows that restate a declared defect (``known_defect:<tag>``) and rows
    whose name holds one of the ``defects`` tags are left out. Every check in ``must_run``
    (default: :func:`must_run_on_this_backend` for the report's kind) that is not in
    ``failing`` must have passed, not been skipped (or warned, if it is in ``warning``).

    Example:
        >>> import kreg
        >>> assert_verdict(kreg.check("huber"), "ok")
    """
    failing, warning = tuple(failing), tuple(warning)
    tags = tuple(defects)
    outcomes = {
        r.name: r.outcome
        for r in report.results
        if not r.name.startswith("known_defect:") and not any(tag in r.name for tag in tags)
    }
    flagged = {name: outcome for name, outcome in outcomes.items() if outcome in ("fail", "warn")}
    required = tuple(must_run) or must_run_on_this_backend(report.kind)
    ran = {n: ("pass", "warn") if n in warning else ("pass",) for n in required}
    not_run = [n for n in required if n not in failing and outcomes.get(n) not in ran[n]]
    expected = {**dict.fromkeys(failing, "fail"), **dict.fromkeys(warning, "warn")}
    found = ("ok" if report.ok else "failed", flagged, not_run)
    assert found == (verdict, expected, []), str(report)


def assert_listing_imports_nothing(plugin: str, count: int, modules: Iterable[str]) -> None:
    """In a fresh process, listing ``plugin``'s ``count`` entries imports none of ``modules``.

    Nor TensorFlow, and no entry is loaded. A fresh process, because one that has imported
    Keras may have loaded entries already.

    Example:
        >>> assert_listing_imports_nothing("contrib", 7, ["kreg_contrib.losses"])
    """
    code = (
        "import json, sys, kreg\n"
        f"entries = [e for e in kreg.entries() if e.plugin == {plugin!r}]\n"
        f"imported = [m for m in {sorted(set(modules) | {'tensorflow'})!r} if m in sys.modules]\n"
        "print(json.dumps([len(entries), [e.name for e in entries if e.is_loaded], imported]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KREG_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [count, [], []]


def check_quietly(name: str) -> Any:
    """:func:`kreg.check` of ``name`` without the one-time warnings of ``kreg.get``
    (declared defects, repaired ``get_config``), which a test of verdicts does not want.

    Example:
        >>> check_quietly("huber").ok
        True
    """
    from kreg.registry.checking import check

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check(name)


def get_quietly(name: str, /, **config: Any) -> Any:
    """:func:`kreg.get` without its one-time warnings (a bridge's tests of its defects).

    Example:
        >>> get_quietly("huber", delta=2.0).get_config()["delta"]
        2.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CATALOG.get(name, **config)


def json_from_fresh_process(code: str, *arguments: str, timeout: float = 180) -> Any:
    """Run ``code`` (dedented) in a fresh interpreter with ``arguments`` (``sys.argv[1:]``);
    the JSON its last printed line holds. For what must hold in a new process: a saved
    model that loads without ``custom_objects``, nothing imported before it is needed.

    Example:
        >>> json_from_fresh_process("import json, sys; print(json.dumps(sys.argv[1:]))", "a")
        ['a']
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


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
