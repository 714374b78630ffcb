"""Structural rejection of broken plugin entries, and the `kreg check` command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import kreg
from tests.conftest import ROOT, subprocess_env


def _kreg(
    plugin_site, *arguments: str, plugins: str = "acme,aaa_shaky"
) -> subprocess.CompletedProcess:
    env = subprocess_env(plugin_site, KREG_PLUGINS=plugins)
    return subprocess.run(
        [sys.executable, "-m", "kreg", *arguments],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_a_rejected_entry_loses_its_plain_name_to_a_correct_one(use_plugins, keras):
    use_plugins("acme", "aaa_shaky")
    assert kreg.lookup("scaled_mae").plugin == "aaa_shaky", "ranked first before it is checked"
    loss = kreg.get("scaled_mae")
    assert type(loss).__name__ == "ScaledMAE" and type(loss).__module__ == "acme_losses"
    assert kreg.lookup("scaled_mae").plugin == "acme", "once known, the rejected entry stays out"
    with pytest.raises(kreg.ContractError) as caught:
        kreg.get("aaa_shaky:scaled_mae")
    message = str(caught.value)
    assert "is not a subclass of keras.losses.Loss" in message
    assert "kreg check aaa_shaky:scaled_mae" in message
    assert "KREG_DISABLE_PLUGINS=aaa_shaky" in message
    assert not caught.value.report.ok


def test_a_rejected_entry_alone_is_never_handed_out(use_plugins):
    use_plugins("aaa_shaky")
    entry = kreg.lookup("half_metric")
    assert entry.is_loaded and "cannot be called as metric(y_true, y_pred)" in entry.rejection
    with pytest.raises(kreg.ContractError, match=r"wrong_signature\(y_true\)"):
        kreg.get("half_metric")
    assert kreg.get("huber").name == "huber_loss", "built-ins are untouched"


def test_kreg_list_and_plugins_show_rejections(plugin_site):
    listed = _kreg(plugin_site, "list", "--kind", "metric", "half*")
    assert listed.returncode == 0, listed.stderr
    assert "REJECTED: wrong_signature(y_true) cannot be called" in listed.stdout
    quick = _kreg(plugin_site, "plugins")
    assert "3 plugin entries are not imported yet" in quick.stdout, "the lazy ones"
    assert "metric aaa_shaky:half_metric" in quick.stdout, "object registrations cost nothing"
    shown = _kreg(plugin_site, "plugins", "--check")
    assert "Rejected by the structural contract" in shown.stdout
    assert (
        "loss aaa_shaky:scaled_mae: NotALoss is not a subclass of keras.losses.Loss" in shown.stdout
    )
    assert "metric aaa_shaky:half_metric" in shown.stdout
    assert "'scaled_mae': acme:scaled_mae wins over aaa_shaky:scaled_mae" in shown.stdout
    as_json = json.loads(_kreg(plugin_site, "plugins", "--json", "--check").stdout)
    assert {r["entry"] for r in as_json["rejected"]} == {
        "aaa_shaky:scaled_mae",
        "aaa_shaky:half_metric",
    }


def test_kreg_check_exit_codes_and_reports(plugin_site):
    good = _kreg(plugin_site, "check", "--plugin", "acme", "--json")
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    reports = json.loads(good.stdout)["reports"]
    assert {r["subject"] for r in reports} == {"loss 'acme:scaled_mae'", "metric 'acme:mean_pred'"}
    assert all(check["outcome"] != "fail" for r in reports for check in r["checks"])
    bad = _kreg(plugin_site, "check", "aaa_shaky:scaled_mae")
    assert bad.returncode == 1
    assert "FAILED" in bad.stdout and "base_class" in bad.stdout
    assert "declare it as `class NotALoss(keras.losses.Loss)`" in bad.stdout
    unknown = _kreg(plugin_site, "check", "hubber")
    assert unknown.returncode == 2 and "'huber'" in unknown.stderr
    nothing = _kreg(plugin_site, "check", "--plugin", "nobody")
    assert nothing.returncode == 2 and "no entries from plugin" in nothing.stderr


def test_kreg_check_all_passes_on_the_builtin_catalogue(plugin_site):
    done = _kreg(plugin_site, "check", "--all", "--json", plugins="")
    summary = json.loads(done.stdout)
    failed = {
        r["subject"]: [c for c in r["checks"] if c["outcome"] == "fail"]
        for r in summary["reports"]
        if not r["ok"]
    }
    assert done.returncode == 0 and failed == {}, failed
    assert len(summary["reports"]) == len(kreg.entries()) - sum(
        1 for e in kreg.entries() if e.plugin != "keras"
    )


def test_dice_and_tversky_give_one_loss_per_sample(keras):
    y_true = np.array([[[1.0], [0.0]], [[1.0], [1.0]], [[0.0], [1.0]]], "float32")
    y_pred = np.array([[[0.9], [0.2]], [[0.4], [0.7]], [[0.1], [0.6]]], "float32")
    for name, keras_class in (("dice", keras.losses.Dice), ("tversky", keras.losses.Tversky)):
        per_sample = kreg.get(name, reduction=None)(y_true, y_pred)
        assert isinstance(kreg.get(name), keras_class)
        explicit = keras_class(axis=(1, 2), reduction=None)(y_true, y_pred)
        np.testing.assert_allclose(per_sample, explicit, rtol=1e-6)
        assert keras_class(reduction=None)(y_true, y_pred).shape == (), "Keras's own is one number"
        with_axis = kreg.get(name, axis=(1, 2), reduction=None)(y_true, y_pred)
        np.testing.assert_allclose(with_axis, explicit, rtol=1e-6)


def test_check_reports_an_entry_whose_module_cannot_be_imported():
    from kreg.registry.entry import Entry

    entry = Entry("ghost", "loss", "no_such_module_anywhere:Ghost", "ghosts")
    report = kreg.check(entry)
    assert not report.ok and report.names() == ["import"]
    assert "no_such_module_anywhere" in report["import"].message
