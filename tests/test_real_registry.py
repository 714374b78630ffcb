"""Registry behaviour that once was wrong on real libraries: optimizers that never count steps,
names, summaries of re-exported classes, lazy entries and their import cost.

The components (tests/realcases) are written here; each reproduces a case of the survey of
real third-party Keras libraries (issue 14), checked against a real fit or load_model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np

import kreg
from tests.conftest import subprocess_env


def test_a_frozen_step_counter_is_named(keras, realcases):
    """kerex's AdamW never increments iterations: the report names the counter (it once blamed
    update_step for ignoring the schedule); in fit, iterations stays 0 and a schedule never
    moves past its first value."""
    report = realcases("frozencountersgd")
    failures = [r.name for r in report.failures]
    assert failures == ["iterations", "schedule_as_learning_rate", "fit"]
    assert "iterations is 0: the step counter is frozen" in report["iterations"].message
    assert "optimizer.iterations stays at 0" in report["schedule_as_learning_rate"].message
    assert "after 2 fit() steps optimizer.iterations is 0" in report["fit"].message
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = kreg.get("realcases:frozencountersgd", learning_rate=schedule)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    x = np.ones((16, 2), "float32")
    model.fit(x, np.zeros((16, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    assert int(optimizer.iterations) == 0
    assert float(optimizer.learning_rate) == np.float32(0.1)
    assert realcases("realcases_optimizer").ok


def test_names_keep_acronyms_and_a_class_called_optimizer_gets_its_plugins_name(realcases):
    """SimCLRLoss was named sim_clr_loss; a library's class `Optimizer` was named 'optimizer'."""
    assert kreg.lookup("SimCLRLoss").qualified_name == "realcases:simclr_loss"
    assert kreg.lookup("realcases:realcases_optimizer").target.endswith(":Optimizer")
    assert "optimizer" not in {e.name for e in kreg.entries("optimizer")}


def test_summaries_follow_re_exports_and_assigned_docstrings(realcases):
    """keras-rs, keras-cv and keras-hub re-export their classes from the package __init__ and
    some assign docstrings from templates: kreg list showed empty summaries for them."""
    from tests.realcases.losses import SimCLRLoss
    from tests.realcases.metrics import PrecisionRecall

    simclr = kreg.lookup("realcases:simclr_loss")
    assert simclr.target == "tests.realcases:SimCLRLoss"  # the re-export
    assert simclr.summary == SimCLRLoss.__doc__.splitlines()[0]
    precision_recall = kreg.lookup("realcases:precision_recall")
    assert precision_recall.summary == PrecisionRecall.__doc__.splitlines()[0]
    assert precision_recall.summary.startswith("Precision and recall of binary predictions")


FRESH_PROCESS = """
    import contextlib, io, json, sys
    import numpy as np
    import kreg
    from kreg.ui.cli import main

    def cost():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["plugins", "--json"])
        plugins = json.loads(out.getvalue())["plugins"]
        return next(p for p in plugins if p["name"] == "realcases")["entries_import_seconds"]

    found = {"listed": len([e for e in kreg.entries() if e.plugin == "realcases"])}
    kreg.get("huber")
    import keras
    found["imported_before_load"] = "tests.realcases.losses" in sys.modules
    found["cost_before_load"] = cost()
    model = keras.models.load_model(sys.argv[1])  # no custom_objects
    found["imported_after_load"] = "tests.realcases.losses" in sys.modules
    found["loss"] = [type(model.loss).__name__, model.loss.smooth]
    logs = model.evaluate(np.ones((4, 3)), np.ones((4, 4)), verbose=0, return_dict=True)
    found["logs"] = sorted(logs)
    found["cost_after_load"] = cost()
    found["resaved_smooth"] = model.loss.get_config().get("smooth")  # repaired here too
    print(json.dumps(found))
"""


def test_lazy_entries_stay_unimported_until_a_saved_model_needs_them(
    keras, realcases, plugin_site, tmp_path
):
    """`import kreg; kreg.get("huber")` imported every plugin's entries once Keras was imported
    (5 s with keras-hub). Now nothing is imported until used, load_model without
    custom_objects still works in a fresh process, and `kreg plugins` reports the cost."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the smooth_dice_loss repair warning
        loss = kreg.get("realcases:smooth_dice_loss", smooth=3.0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, "sigmoid")])
    model.compile("sgd", loss, metrics=[kreg.get("realcases:precision_recall")])
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    model.fit(x, (x[:, :1] > 0).repeat(4, axis=1).astype("float32"), verbose=0)
    model.save(tmp_path / "model.keras")
    script = tmp_path / "fresh.py"
    script.write_text(textwrap.dedent(FRESH_PROCESS))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model.keras")],
        capture_output=True,
        text=True,
        env=subprocess_env(plugin_site, KREG_PLUGINS="realcases"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["listed"] == len([e for e in kreg.entries() if e.plugin == "realcases"])
    assert found["imported_before_load"] is False
    assert found["cost_before_load"] == 0.0
    assert found["imported_after_load"] is True
    assert found["loss"] == ["SmoothDiceLoss", 3.0]
    assert found["logs"] == ["loss", "precision", "recall"]
    assert found["cost_after_load"] > 0.0
    assert found["resaved_smooth"] == 3.0  # saved again here, the model keeps its argument


def test_plugins_load_when_keras_or_tensorflow_was_imported_first(plugin_site):
    """`import keras, kreg` once failed every plugin: kreg loaded them during its own import,
    and their `kreg.hookimpl` did not exist yet."""
    code = (
        "import json, sys\n"
        "__import__(sys.argv[1])\n"
        "import kreg\n"
        "print(json.dumps({p.name: p.status for p in kreg.plugins() if p.status != 'disabled'}))\n"
    )
    for first in ("keras", "tensorflow"):
        done = subprocess.run(
            [sys.executable, "-c", code, first],
            capture_output=True,
            text=True,
            env=subprocess_env(plugin_site, KREG_PLUGINS="realcases,acme"),
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        statuses = json.loads(done.stdout.splitlines()[-1])
        assert statuses == {"keras": "ok", "acme": "ok", "realcases": "ok"}, first


OWN_NAME = """
    import json, sys
    import kreg, keras
    found = {}
    try:
        keras.models.load_model(sys.argv[1])
        found["kreg_only"] = "loaded"
    except Exception as error:
        found["kreg_only"] = str(error)[:300]
    import tests.realcases.losses  # the library, which registers its own name
    found["library_imported"] = type(keras.models.load_model(sys.argv[1]).loss).__name__
    print(json.dumps(found))
"""


def test_a_library_registered_name_is_a_warning_with_its_import(keras, realcases, plugin_site):
    """kerex registers AdamW as 'Kerex.Optimizers>AdamW', which kreg's stand-ins do not answer
    to: kreg once passed its serialization; a fresh process needs the library imported."""
    report = realcases("own_name_loss")
    assert report.ok and report["serialization"].outcome == "warn"
    message = report["serialization"].message
    assert "'RealCases.Losses>OwnNameLoss'" in message and "`import tests` first" in message
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", kreg.get("realcases:own_name_loss"))
    folder = plugin_site.parent / "own_name"
    folder.mkdir(exist_ok=True)
    model.save(folder / "model.keras")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(OWN_NAME), str(folder / "model.keras")],
        capture_output=True,
        text=True,
        env=subprocess_env(plugin_site, KREG_PLUGINS="realcases"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert "OwnNameLoss" in found["kreg_only"] and found["kreg_only"] != "loaded"
    assert found["library_imported"] == "OwnNameLoss"


def test_check_json_stays_json_when_a_library_prints(plugin_site):
    """segmentation-models prints at import; `kreg check --json` output must still parse."""
    done = subprocess.run(
        [sys.executable, "-m", "kreg", "check", "realcases:noisy_loss", "--json"],
        capture_output=True,
        text=True,
        env=subprocess_env(plugin_site, KREG_PLUGINS="realcases"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["reports"][0]["ok"] is True
    assert "noisy library" in done.stderr
