"""kreg under every Keras 3 minor it declares: a smoke run per version (issue 16).

``make test`` installs each version of :data:`KERAS_MATRIX` once, with
``pip install --no-deps --target build/keras/<version>`` (Keras wheels are pure Python),
and sets ``KREG_KERAS_MATRIX``; each version then runs ``tests/keras_smoke.py`` in a
fresh interpreter with that folder first on the path, over the installed TensorFlow,
two at a time.
Without the folders (a plain ``pytest`` run) the versions are skipped, and say how to get
them; under ``make test`` a missing folder fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT, subprocess_env

KERAS_MATRIX = tuple(os.environ.get("KREG_KERAS_MATRIX", "").split()) or (
    "3.10.0",
    "3.11.3",
    "3.12.4",
    "3.13.2",
    "3.14.1",
)
"""The newest patch of every Keras minor from the lowest kreg declares (3.10) up to the one
before the installed Keras (which the rest of the suite tests); the Makefile's list."""
CACHE = ROOT / "build" / "keras"


def _run(version: str) -> tuple[str, dict | str]:
    folder = CACHE / version
    if not (folder / "keras").is_dir():
        return version, "missing"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "keras_smoke.py")],
        env=subprocess_env(folder, ROOT),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("KREG-SMOKE ")]
    if done.returncode != 0 or not lines:
        return version, f"exit {done.returncode}: {done.stderr[-3000:]}"
    return version, json.loads(lines[-1].removeprefix("KREG-SMOKE "))


@pytest.fixture(scope="module")
def smokes() -> dict[str, dict | str]:
    """Every version's smoke run, two at a time (one TensorFlow process per core)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(_run, KERAS_MATRIX))


def smoke(smokes: dict[str, dict | str], version: str) -> dict:
    result = smokes[version]
    if result == "missing":
        if os.environ.get("KREG_KERAS_MATRIX"):
            pytest.fail(f"Keras {version} is not in {CACHE / version}: `make keras-matrix`")
        pytest.skip(f"Keras {version} is not installed in {CACHE / version} (`make keras-matrix`)")
    assert isinstance(result, dict), result
    return result


@pytest.mark.parametrize("version", KERAS_MATRIX)
def test_kreg_works_under_keras(smokes, version):
    result = smoke(smokes, version)
    assert result["keras"] == version and str(CACHE / version) in result["keras_file"]
    assert result["plugin"]["keras"][0] == "ok", result["plugin"]
    assert result["entries"] >= 75, result  # the catalogue is read, not silently empty
    assert not result["get_failures"], result["get_failures"]
    assert result["built"] + result["needs_arguments"] == result["entries"]
    assert not result["seed_failures"], result["seed_failures"]
    cell = result["cell"]
    assert cell["epochs"] == 2 and cell["loss_falls"], cell
    assert cell["steps_per_execution"] >= 1, cell  # chosen by kreg's rule, and accepted by fit
    assert not result["multiworker_missing"], result["multiworker_missing"]
    assert cell["loaded_loss"] == "Huber" and cell["loaded_same"], cell
    assert all(verdict == "ok" for verdict in result["checks"].values()), result["checks"]


def test_an_unreadable_keras_layout_fails_loudly(tmp_path):
    """A Keras whose public API kreg cannot find: the built-in plugin fails, naming the file."""
    fake = tmp_path / "keras"
    (fake / "src").mkdir(parents=True)
    (fake / "__init__.py").write_text("__version__ = '3.99.0'\n")
    info = tmp_path / "keras-3.99.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keras\nVersion: 3.99.0\n")
    code = (
        "import json, kreg; "
        "print(json.dumps([[p.name, p.status, p.error] for p in kreg.plugins()]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(tmp_path, ROOT, KREG_PLUGINS=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    plugins = {name: (status, error) for name, status, error in json.loads(done.stdout)}
    status, error = plugins["keras"]
    assert status == "failed", plugins
    assert "Keras 3.99.0" in error and "losses/__init__.py" in error, error


@pytest.mark.parametrize("version", ["3.9.2", "3.0.5", "2.15.0"])
def test_import_kreg_under_an_unsupported_keras_names_the_range(tmp_path, version):
    fake = tmp_path / "keras" / "src"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "version.py").write_text(f'__version__ = "{version}"\n')
    done = subprocess.run(
        [sys.executable, "-c", "import kreg"],
        env=subprocess_env(tmp_path, ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        f"UnsupportedKerasError: kreg supports Keras >=3.10; this environment has Keras {version}"
        in (done.stderr)
    )
    assert "pip install 'keras>=3.10'" in done.stderr


def test_pyproject_declares_the_tested_range():
    from kreg.versions import SUPPORTED_KERAS

    text = (ROOT / "pyproject.toml").read_text()
    assert f'"keras{SUPPORTED_KERAS}"' in text
    lowest = ".".join(SUPPORTED_KERAS.removeprefix(">=").split(".")[:2])
    assert KERAS_MATRIX[0].startswith(lowest + "."), (KERAS_MATRIX[0], SUPPORTED_KERAS)
