"""The plugin fault zoo: every way a plugin can break, each next to a healthy plugin.

Each case is a real distribution with a ``kreg`` entry point in a temporary
site (tests/fake_plugins.py), enabled with ``KREG_PLUGINS`` together with the
good plugin ``acme``. In every case the built-ins and acme keep working, the
faulty plugin cannot change what other names mean, and ``kreg plugins`` says
which plugin did what and what to do about it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import kreg
from kreg.ui import cli
from tests import reliability
from tests.conftest import ROOT, subprocess_env
from tests.fake_plugins import SLOW_PLUGIN, make_distribution

AREA = "plugin fault zoo"


@dataclass
class Case:
    """One faulty plugin, what kreg.plugins() and `kreg plugins` must say, and extra checks."""

    plugin: str
    status: str
    error: str | None = None  # in PluginInfo.error
    shown: tuple[str, ...] = ()  # in the `kreg plugins` output
    check: Callable[[Any], None] | None = None  # more checks, given keras
    gone: tuple[str, ...] = field(default=())  # names it tried to register: not registered


def _raises(error: type, call: Callable[[], Any], *parts: str) -> None:
    with pytest.raises(error) as caught:
        call()
    for part in parts:
        assert part in str(caught.value), (part, str(caught.value))


def _lazy_constant(keras: Any) -> None:
    _raises(kreg.KregError, lambda: kreg.get("constant_loss"), "zoo_lazy_constant:constant_loss")
    assert isinstance(kreg.get("zoo_mae"), keras.losses.Loss), "its other entry works"


def _copycat(keras: Any) -> None:
    assert kreg.lookup("scaled_mae").plugin == "acme", "the first provider keeps the name"
    assert kreg.lookup("zoo_copycat:scaled_mae").plugin == "zoo_copycat"
    assert kreg.get("zoo_copycat:scaled_mae").name == "scaled_mae"
    assert kreg.get("acme:scaled_mae", scale=3.0).scale == 3.0


def _thief(keras: Any) -> None:
    assert type(kreg.get("huber_thief:huber")).__module__ == "huber_thief_impl"


def _init_raiser(keras: Any) -> None:
    _raises(
        kreg.ConfigError,
        lambda: kreg.get("exploding_loss"),
        "zoo_init_raiser:exploding_loss",
        "RuntimeError: kaboom in ExplodingLoss.__init__",
        "KREG_DISABLE_PLUGINS=zoo_init_raiser",
    )
    assert isinstance(kreg.get("calm_mae"), keras.losses.Loss), "its other entry works"


def _vandal_late(keras: Any) -> None:
    _raises(
        kreg.ComponentLoadError,
        lambda: kreg.get("sneaky_loss"),
        "zoo_vandal_late",
        "kreg entries are read-only",
    )
    assert kreg.lookup("acme:scaled_mae").target == "acme_losses:ScaledMAE"


FAILED_HINT = "or hide it with KREG_DISABLE_PLUGINS="
CASES = [
    Case(
        "broken_import",
        "failed",
        "import failed: ModuleNotFoundError",
        ("failed and was skipped", "this_module_does_not_exist_anywhere", FAILED_HINT),
    ),
    Case(
        "raising",
        "failed",
        "RuntimeError in its register_losses hook: boom inside register_losses",
        ("boom inside register_losses", FAILED_HINT),
        gone=("raising:nothing",),
    ),
    Case(
        "zoo_raise_metrics",
        "failed",
        "ValueError in its register_metrics hook: boom inside register_metrics",
        ("register_metrics hook", FAILED_HINT),
        gone=("register_metrics_partial",),
    ),
    Case(
        "zoo_raise_optimizers",
        "failed",
        "KeyError in its register_optimizers hook",
        ("register_optimizers hook", FAILED_HINT),
        gone=("register_optimizers_partial",),
    ),
    Case(
        "zoo_raise_schedules",
        "failed",
        "SystemExit in its register_schedules hook: boom inside register_schedules",
        ("register_schedules hook", FAILED_HINT),
        gone=("register_schedules_partial",),
    ),
    Case(
        "bad_register",
        "failed",
        "registered a metric that is neither a class, a function, a callable object (losses and "
        "metrics) nor a 'module:attr' string. Received: 42 (int)",
        ("bad_register", "Received: 42", FAILED_HINT),
    ),
    Case(
        "zoo_lazy_constant",
        "ok",
        shown=("Rejected by the structural contract", "zoo_lazy_constant:constant_loss", "got 42"),
        check=_lazy_constant,
    ),
    Case(
        "zoo_twice",
        "failed",
        "plugin 'zoo_twice' registered the loss name 'Twin' twice",
        ("'Twin' twice", FAILED_HINT),
        gone=("twin",),
    ),
    Case(
        "zoo_copycat",
        "ok",
        shown=("loss 'scaled_mae': acme:scaled_mae wins over zoo_copycat:scaled_mae",),
        check=_copycat,
    ),
    Case(
        "huber_thief",
        "ok",
        shown=("loss 'huber': keras:huber wins over huber_thief:huber", "KREG_PREFER"),
        check=_thief,
    ),
    Case(
        "zoo_init_raiser",
        "ok",
        shown=("failed when used", "zoo_init_raiser:exploding_loss", "kaboom"),
        check=_init_raiser,
    ),
    Case(
        "zoo_vandal_import",
        "failed",
        "import failed: RegistrationError: a plugin used the kreg registry",
        ("zoo_vandal_import", "only registers its own components", FAILED_HINT),
    ),
    Case(
        "zoo_vandal_hook",
        "failed",
        "RegistrationError in its register_losses hook: a plugin used the kreg registry",
        ("zoo_vandal_hook", FAILED_HINT),
        gone=("vandal_mae",),
    ),
    Case(
        "zoo_vandal_late",
        "ok",
        shown=("failed when used", "zoo_vandal_late:sneaky_loss", "read-only"),
        check=_vandal_late,
    ),
    Case(
        "unknown_hook",
        "failed",
        "invalid plugin: unknown hook 'register_loss'",
        ("register_loss", FAILED_HINT),
    ),
]


@pytest.fixture(scope="module")
def builtin_baseline() -> dict[str, Any]:
    kreg.reload()
    huber = kreg.lookup("huber")
    return {
        "huber": (huber.qualified_name, huber.target),
        "keras entries": len([e for e in kreg.entries() if e.plugin == "keras"]),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.plugin for c in CASES])
def test_a_faulty_plugin_harms_nobody_and_is_explained(
    case, use_plugins, keras, capsys, builtin_baseline
):
    with reliability.case(AREA):
        use_plugins("acme", case.plugin)
        info = {p.name: p for p in kreg.plugins()}
        # the built-ins and the healthy plugin keep working
        huber = kreg.lookup("huber")
        assert (huber.qualified_name, huber.target) == builtin_baseline["huber"]
        assert type(kreg.get("huber", delta=2.0)) is keras.losses.Huber
        keras_entries = [e for e in kreg.entries() if e.plugin == "keras"]
        assert len(keras_entries) == builtin_baseline["keras entries"]
        assert info["acme"].status == "ok" and info["acme"].counts == {"loss": 1, "metric": 1}
        assert kreg.get("acme:scaled_mae", scale=3.0).scale == 3.0
        assert isinstance(kreg.get("smae"), keras.losses.Loss)
        # what happened to the faulty one
        faulty = info[case.plugin]
        assert faulty.status == case.status, faulty
        if case.error:
            assert case.error in (faulty.error or ""), faulty.error
        for name in case.gone:
            with pytest.raises(kreg.UnknownComponentError):
                kreg.lookup(name)
        if case.check:
            case.check(keras)
        # ... and what `kreg plugins` says about it
        capsys.readouterr()
        assert cli.main(["plugins"]) == 0
        shown = capsys.readouterr().out
        assert case.plugin in shown
        for part in case.shown:
            assert part in shown, (part, shown)
        if case.status == "failed":
            assert f"Plugin {case.plugin!r} failed and was skipped: {faulty.error}" in shown
        assert cli.main(["plugins", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        statuses = {p["name"]: p["status"] for p in listed["plugins"]}
        assert statuses["acme"] == "ok" and statuses[case.plugin] == case.status


def test_entries_are_read_only_and_registry_access_is_refused_while_loading(use_plugins):
    with reliability.case(AREA):
        use_plugins("acme")
        entry = kreg.lookup("acme:scaled_mae")
        for attribute in ("target", "name", "plugin", "_loaded", "_factory", "aliases"):
            with pytest.raises(AttributeError, match="read-only"):
                setattr(entry, attribute, "x")
            with pytest.raises(AttributeError, match="read-only"):
                delattr(entry, attribute)
        assert entry.target == "acme_losses:ScaledMAE"


# -- the slow plugin: one subprocess, started first, checked last ---------------------------

SLOW_CHECK = """
import json, sys, time
from contextlib import redirect_stdout
from io import StringIO
import kreg
from kreg.ui import cli

started = time.perf_counter()
infos = {p.name: p for p in kreg.plugins()}
loaded = time.perf_counter() - started
assert kreg.lookup("huber").plugin == "keras"
assert kreg.lookup("smae").plugin == "acme"
assert type(kreg.get("huber")).__name__ == "Huber"
assert kreg.get("acme:scaled_mae", scale=3.0).scale == 3.0
assert type(kreg.get("slow_mae")).__name__ == "LossFunctionWrapper"
text, as_json = StringIO(), StringIO()
with redirect_stdout(text):
    cli.main(["plugins"])
with redirect_stdout(as_json):
    cli.main(["plugins", "--json"])
print(json.dumps({"loaded": loaded, "text": text.getvalue(), "json": as_json.getvalue()}))
"""


@pytest.fixture(scope="module")
def slow_run(plugin_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start the 10 s import in a child process at once: it sleeps while the cases run."""
    site = tmp_path_factory.mktemp("slow_site")
    plugin, (dist, module, code) = SLOW_PLUGIN
    make_distribution(site, dist, plugin, module, code)
    env = subprocess_env(site, plugin_site, KREG_PLUGINS=f"acme,{plugin}")
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_CHECK],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield child, started
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


@pytest.fixture(scope="module", autouse=True)
def _start_slow_run_first(slow_run: Any) -> None:
    """Module-scoped and autouse: the child starts before the first case."""


def test_a_plugin_that_takes_10_s_to_import_is_reported_with_its_time(slow_run):
    child, started = slow_run
    with reliability.case(AREA):
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        assert report["loaded"] >= 10.0, "kreg waited for the import, and then started"
        plugin = SLOW_PLUGIN[0]
        text = report["text"]
        assert f"Plugin {plugin!r} is slow to import: importing plugin {plugin!r} took 10." in text
        assert "KREG_DISABLE_PLUGINS=zoo_slow" in text
        listed = {p["name"]: p for p in json.loads(report["json"])["plugins"]}
        slow = listed[plugin]
        assert slow["status"] == "ok" and slow["slow"] is True
        assert 10.0 <= slow["load_seconds"] < 30.0
        assert "took 10." in slow["note"]
        assert listed["acme"]["status"] == "ok" and listed["acme"]["slow"] is False
        assert listed["keras"]["slow"] is False
        assert time.perf_counter() - started >= 10.0
