"""Plugins through real entry points: isolation of broken ones, collisions, pinning, env vars."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

import kreg
from kreg.registry import hookspecs
from kreg.registry.plugins import PluginInfo
from kreg.registry.registration import registrar
from tests.conftest import ROOT, subprocess_env
from tests.fake_plugins import ZOO


def _status(name: str) -> PluginInfo:
    return next(info for info in kreg.plugins() if info.name == name)


def test_good_plugin_entries_resolve_with_provenance(use_plugins, keras):
    use_plugins("acme")
    entry = kreg.lookup("ScaledMAE")
    assert (entry.name, entry.kind, entry.plugin, entry.plugin_version) == (
        "scaled_mae",
        "loss",
        "acme",
        "1.0",
    )
    assert entry.summary == "Mean absolute error times a constant scale."
    assert not entry.is_loaded, "listing never imports a plugin's lazy target"
    loss = kreg.get("smae", scale=3.0)
    assert loss.scale == 3.0
    metric = kreg.get("acme:mean_pred")
    assert isinstance(metric, keras.metrics.MeanMetricWrapper)
    assert metric.name == "mean_pred"


def test_broken_plugins_are_skipped_and_reported(use_plugins, keras):
    use_plugins("acme", "broken_import", "raising", "bad_register", "unknown_hook")
    assert _status("acme").status == "ok"
    assert kreg.get("huber").__class__ is keras.losses.Huber, "built-ins keep working"
    assert kreg.lookup("scaled_mae").plugin == "acme", "healthy plugins keep working"
    broken = _status("broken_import")
    assert broken.status == "failed" and "this_module_does_not_exist_anywhere" in broken.error
    assert "ModuleNotFoundError" in broken.traceback
    raising = _status("raising")
    assert raising.status == "failed" and "boom inside register_losses" in raising.error
    assert "RuntimeError" in raising.traceback
    with pytest.raises(kreg.UnknownComponentError):
        kreg.lookup("raising:nothing"), "a failed plugin's partial registrations are dropped"
    bad = _status("bad_register")
    assert bad.status == "failed" and "neither a class, a function" in bad.error
    unknown = _status("unknown_hook")
    assert unknown.status == "failed" and "unknown hook 'register_loss'" in unknown.error


def test_collision_keeps_builtin_and_qualified_name_reaches_both(use_plugins, keras):
    use_plugins("huber_thief")
    assert kreg.get("huber").__class__ is keras.losses.Huber
    thief = kreg.get("huber_thief:huber")
    assert type(thief).__module__ == "huber_thief_impl"
    conflicts = kreg.lookup("huber") and kreg.reload().conflicts()
    assert [
        (c.spelling, c.winner.qualified_name, [o.qualified_name for o in c.others])
        for c in conflicts
    ] == [("huber", "keras:huber", ["huber_thief:huber"])]


def test_prefer_api_pins_one_name(use_plugins, keras):
    use_plugins("huber_thief")
    kreg.prefer("huber_thief:huber")
    assert kreg.lookup("huber").plugin == "huber_thief"
    assert kreg.lookup("Huber").plugin == "huber_thief"
    assert kreg.lookup("keras:huber").plugin == "keras"


def test_kreg_prefer_env_pins_a_plugin(use_plugins):
    use_plugins("huber_thief", env={"KREG_PREFER": "huber_thief"})
    assert kreg.lookup("huber").plugin == "huber_thief"


def test_prefer_unknown_plugin_suggests(use_plugins):
    use_plugins("huber_thief")
    with pytest.raises(kreg.UnknownComponentError, match="huber_thief"):
        kreg.prefer("huber_theif:huber")


def test_allow_list_empty_means_builtins_only(use_plugins):
    use_plugins()
    assert {info.name: info.status for info in kreg.plugins()}["acme"] == "disabled"
    assert [e for e in kreg.entries() if e.plugin != "keras"] == []


def test_deny_list(use_plugins, monkeypatch):
    monkeypatch.delenv("KREG_PLUGINS", raising=False)
    use_plugins("acme", env={"KREG_DISABLE_PLUGINS": "acme,broken_import"})
    monkeypatch.delenv("KREG_PLUGINS")
    kreg.reload()
    statuses = {info.name: info.status for info in kreg.plugins()}
    assert statuses["acme"] == "disabled"
    assert statuses["broken_import"] == "disabled"
    assert statuses["raising"] == "failed"


def test_same_name_twice_in_one_plugin_is_a_registration_error():
    staged: list = []
    register = registrar("loss", "dup", None, staged)
    register("dup_mod:One", "focal")
    with pytest.raises(kreg.RegistrationError, match="twice"):
        register("dup_mod:Two", "Focal")


@pytest.mark.parametrize(
    ("obj", "kwargs", "message"),
    [
        ("no_colon", {}, "must look like 'package.module:Name'"),
        ("mod:Name", {"name": "a:b"}, "without ':'"),
        ("mod:Name", {"aliases": [3]}, "aliases must be"),
        ("mod:Name", {"example": 5}, "zero-argument callable"),
    ],
)
def test_bad_register_calls_explain_themselves(obj, kwargs, message):
    register = registrar("loss", "p", None, [])
    with pytest.raises(kreg.RegistrationError, match=message):
        register(obj, **kwargs)


def _kreg_plugins(plugin_site, *flags: str) -> str:
    env = subprocess_env(plugin_site, KREG_PLUGINS="acme,raising,huber_thief,broken_import")
    command = [sys.executable, "-m", "kreg", "plugins", *flags]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout


def test_cli_plugins_shows_failures_and_conflicts(plugin_site):
    shown = _kreg_plugins(plugin_site)
    assert "acme" in shown and "1.0" in shown
    assert "Plugin 'raising' failed and was skipped" in shown
    assert "boom inside register_losses" in shown
    assert "Plugin 'broken_import' failed" in shown
    assert "loss 'huber': keras:huber wins over huber_thief:huber" in shown
    as_json = json.loads(_kreg_plugins(plugin_site, "--json"))
    statuses = {p["name"]: p["status"] for p in as_json["plugins"]}
    expected = {
        "keras": "ok",
        "acme": "ok",
        "broken_import": "failed",
        "raising": "failed",
        "huber_thief": "ok",
        "bad_register": "disabled",
        "unknown_hook": "disabled",
        "aaa_shaky": "disabled",
        "contrib": "disabled",
        "eager": "disabled",
        **dict.fromkeys(ZOO, "disabled"),  # the fault zoo's plugins (tests/test_fault_zoo.py)
    }
    assert {name: statuses[name] for name in expected} == expected
    others = {name: status for name, status in statuses.items() if name not in expected}
    assert set(others.values()) <= {"disabled"}, "installed bridges are disabled by KREG_PLUGINS"


def test_every_hook_is_documented_and_tested():
    readme = (ROOT / "README.md").read_text()
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("*.py"))
    for hook in hookspecs.HOOK_KINDS:
        assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"
        assert hook in readme, f"{hook} is not documented in README.md"
        assert f"def {hook}(register)" in tests, f"{hook} has no test plugin"


def test_all_four_hooks_register_their_kind(tmp_path, monkeypatch):
    from tests.fake_plugins import make_distribution

    make_distribution(
        tmp_path,
        "four-kreg",
        "four",
        "four_plugin",
        """
        import kreg

        @kreg.hookimpl
        def register_losses(register):
            register("four_impl:l1")

        @kreg.hookimpl
        def register_metrics(register):
            register("four_impl:m1")

        @kreg.hookimpl
        def register_optimizers(register):
            register("four_impl:Opt")

        @kreg.hookimpl
        def register_schedules(register):
            register("four_impl:Warmup", aliases=["warm"])
    """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("KREG_PLUGINS", "four")
    try:
        kreg.reload()
        found = {(e.kind, e.name) for e in kreg.entries() if e.plugin == "four"}
        assert found == {
            ("loss", "l1"),
            ("metric", "m1"),
            ("optimizer", "opt"),
            ("schedule", "warmup"),
        }
        assert kreg.lookup("warm").name == "warmup"
    finally:
        monkeypatch.undo()
        sys.modules.pop("four_plugin", None)
        kreg.reload()


def test_a_plugin_that_imports_keras_while_loading_does_not_deadlock(plugin_site):
    code = (
        "import sys, kreg\n"
        "assert 'keras' not in sys.modules\n"
        "loss = kreg.get('eager_loss')\n"
        "import keras\n"
        "assert keras.saving.get_registered_object('eager>EagerLoss') is type(loss)\n"
        "print(type(loss).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(plugin_site, KREG_PLUGINS="eager"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "EagerLoss"


def test_a_declared_defect_warns_once_at_first_use(keras):
    staged: list = []
    register = registrar("loss", "bridge", "1.0", staged)
    reason = "sample_weight must have shape (batch, list_size), not (batch,)"
    register("keras.src.losses.losses:Huber", "flaky_huber", defects={"weights": reason})
    (entry,) = staged
    with pytest.warns(UserWarning, match=r"bridge:flaky_huber: sample_weight must have shape"):
        assert isinstance(entry.create(), keras.losses.Huber)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entry.create()  # once per process
