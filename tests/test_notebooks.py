"""The notebooks run headless on a real Jupyter kernel (nbclient), as `make demo` runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from notebooks.headless import execute_notebook
from tests.conftest import ROOT, subprocess_env


def _outputs(notebook, kind: str) -> list:
    return [o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == kind]


def test_quickstart_runs_and_trains(tmp_path):
    notebook, images = execute_notebook(
        ROOT / "notebooks" / "quickstart.ipynb", tmp_path / "out.ipynb", workdir=tmp_path
    )
    assert len(images) == 2 and all(png[:4] == b"\x89PNG" for png in images)
    assert _outputs(notebook, "error") == []
    text = "".join(o.get("text", "") for o in _outputs(notebook, "stream"))
    assert "UsageError: line 2, column 8: 'hubber' is neither" in text, "shown, no traceback"
    assert "Traceback" not in text
    assert "kreg: CPU" in text and "steps_per_execution" in text
    assert "model.compile(" in text and "keras.losses.Huber(delta=1.5)" in text
    assert (tmp_path / "out.ipynb").exists()


def test_writing_a_plugin_runs(tmp_path):
    notebook, _ = execute_notebook(ROOT / "notebooks" / "writing-a-plugin.ipynb", workdir=tmp_path)
    assert _outputs(notebook, "error") == []
    text = "".join(o.get("text", "") for o in _outputs(notebook, "stream"))
    assert "call() returned shape ()" in text
    assert "my_plugin:scaled_log_cosh OK" in text
    assert (tmp_path / "plugin_site" / "my_plugin.py").exists()


@pytest.mark.parametrize("target", ["demo"])
def test_make_demo_writes_the_notebook_and_the_plot(target, tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "build/quickstart.ipynb" in done.stdout and "build/quickstart-training.png" in done.stdout
    )
    assert (ROOT / "build" / "quickstart-training.png").read_bytes()[:4] == b"\x89PNG"
    assert "build/compare-optimizers.png, build/compare-schedules.png" in done.stdout
    for name in ("optimizers", "schedules"):
        assert (ROOT / "build" / f"compare-{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_notebook_leaves_one_figure_per_comparison(tmp_path):
    notebook, images = execute_notebook(ROOT / "notebooks" / "compare.ipynb", workdir=tmp_path)
    assert _outputs(notebook, "error") == []
    assert len(images) == 2, "one figure per comparison cell, updated in place"
    text = "".join(o.get("text", "") for o in _outputs(notebook, "stream"))
    for run in ("run 1/3: optimizer=adam(learning_rate=0.01)", "run 3/3: optimizer=rmsprop"):
        assert run in text
    assert "run 2/2: optimizer=adam(learning_rate=exponential_decay(" in text
    assert "--keep best: `model` now names run" in text and "model is the kept run's: True" in text
    assert "(ranked by val_loss (final value))" in text
    lines = [
        o["data"]["text/plain"]
        for o in _outputs(notebook, "display_data")
        if o.get("data", {}).get("text/plain", "").startswith("run ")
    ]
    assert [line.split(" · ")[:2] for line in lines] == [
        ["run 3/3", "epoch 6/6"],
        ["run 2/2", "epoch 6/6"],
    ]
    tables = [o for o in _outputs(notebook, "display_data") if "text/html" in o.get("data", {})]
    assert len(tables) == 2 and "kreg-runset" in tables[0]["data"]["text/html"]


def test_widgets_notebook_runs(tmp_path):
    notebook, _ = execute_notebook(ROOT / "notebooks" / "widgets.ipynb", workdir=tmp_path)
    assert _outputs(notebook, "error") == []
    views = [
        o
        for o in _outputs(notebook, "execute_result")
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(views) == 2, "the CompileWidget and the Browser are displayed as widgets"
    text = "".join(o.get("text", "") for o in _outputs(notebook, "stream"))
    assert text.startswith("%%kcompile model\nloss = mean_squared_error\noptimizer = adam")
