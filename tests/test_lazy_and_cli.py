"""`import kreg`, listing and the CLI never import TensorFlow; CLI output is readable and JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, subprocess_env


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_import_and_entries_do_not_import_tensorflow():
    done = _run(
        "import kreg, sys; kreg.entries(); kreg.lookup('huber').summary; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TF'"
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "argv", [["list"], ["list", "--json"], ["plugins"], ["list", "--kind", "loss"]]
)
def test_cli_listing_does_not_import_tensorflow(argv):
    done = _run(
        f"import sys; from kreg.ui.cli import main; code = main({argv!r}); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(code)"
    )
    assert done.returncode == 0, done.stderr


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kreg", *argv],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_list_table_and_pattern():
    out = _cli("list", "*crossentropy*", "--kind", "loss").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "PROVIDER", "SUMMARY"]
    names = [line.split()[0] for line in lines[1:] if line and not line.startswith(("NAME",))]
    assert "binary_crossentropy" in names and "huber" not in names


def test_cli_list_json():
    data = json.loads(_cli("list", "--json", "--kind", "optimizer").stdout)
    adam = next(item for item in data if item["name"] == "adam")
    assert adam["qualified_name"] == "keras:adam"
    assert adam["target"] == "keras.optimizers.Adam"
    assert adam["summary"].startswith("Optimizer that implements the Adam")


def test_cli_show_signature_and_aliases():
    out = _cli("show", "MSE", "--kind", "loss").stdout
    assert "Name:           mean_squared_error" in out
    assert "Signature:      mean_squared_error(reduction='sum_over_batch_size'" in out
    assert "mse, MSE" in out
    legacy = _cli("show", "kullback_leibler_divergence", "--kind", "loss").stdout
    assert "Keras 2 names:  kullback_leibler_divergence" in legacy


def test_cli_unknown_name_is_a_clear_error():
    done = _cli("show", "Possion")
    assert done.returncode == 2
    assert "Did you mean 'poisson'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_ambiguous_name_tells_how_to_choose():
    done = _cli("show", "mse")
    assert done.returncode == 2 and "kind='loss'" in done.stderr
