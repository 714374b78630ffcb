"""kreg on Keras's other backends, JAX and PyTorch, with TensorFlow hidden (as on the GPU).

``make test`` installs JAX (CPU) once into ``build/backends/jax`` with ``pip --target`` and
sets ``KREG_BACKENDS=jax``; ``make test-compat`` adds PyTorch (CPU) in
``build/backends/torch`` (a 900 MB install, so not in CI). Each backend runs in fresh
interpreters with ``KERAS_BACKEND`` set and ``tools/hide_tensorflow`` first on the path,
so that nothing can lean on TensorFlow: the lent GPU machine has none.
Without the folders (a plain ``pytest`` run) the backends are skipped and say how to get
them; a backend named in ``KREG_BACKENDS`` whose folder is missing fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT, subprocess_env

BACKENDS = tuple(os.environ.get("KREG_BACKENDS", "").split()) or ("jax", "torch")
FOLDERS = ROOT / "build" / "backends"
HIDE_TENSORFLOW = ROOT / "tools" / "hide_tensorflow"
# Entries whose verdict is not "ok" on TensorFlow either: the keras-rs pairwise losses
# return one loss per item (tests/test_real_losses.py and the bridge's own tests).
FAIL_EVERYWHERE = {
    f"keras_rs:pairwise_{name}": "sample_weight"
    for name in ("hinge", "logistic", "mean_squared_error", "soft_zero_one")
}


def _environment(backend: str, **extra: str) -> dict[str, str]:
    folder = FOLDERS / backend
    if not folder.is_dir():
        if os.environ.get("KREG_BACKENDS"):
            pytest.fail(f"{backend} is not installed in {folder}: `make backend-{backend}`")
        pytest.skip(f"{backend} is not installed in {folder} (`make backend-{backend}`)")
    return subprocess_env(HIDE_TENSORFLOW, folder, KERAS_BACKEND=backend, **extra)


def _python(backend: str, arguments: list[str], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *arguments],
        env=_environment(backend, **extra),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )


_scenarios: dict[str, dict[str, Any]] = {}


def scenario(backend: str) -> dict[str, Any]:
    """What tests/backend_scenario.py saw on ``backend`` (run once per backend)."""
    if backend not in _scenarios:
        done = _python(backend, [str(ROOT / "tests" / "backend_scenario.py")])
        lines = [line for line in done.stdout.splitlines() if line.startswith("KREG-BACKEND ")]
        assert lines, f"no result from the {backend} scenario:\n{done.stdout}\n{done.stderr}"
        _scenarios[backend] = json.loads(lines[-1].removeprefix("KREG-BACKEND "))
    seen = _scenarios[backend]
    assert "crashed" not in seen, seen.get("crashed")
    return seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cell_speaks_the_backends_language(backend):
    seen = scenario(backend)
    defaults = seen["defaults"]
    assert seen["backend"] == backend and not defaults["error"], defaults
    header = defaults["printed"].splitlines()[0]
    assert header.startswith(f"kreg: CPU ({os.cpu_count()} cores) · {backend} backend · "), header
    assert "strategy" not in header and "XLA on" not in header, header
    compiler = "jax.jit (XLA) on" if backend == "jax" else "torch.compile off"
    assert compiler in header and compiler in defaults["summary"], header
    assert defaults["device"] == f"CPU ({os.cpu_count()} cores) · {backend} backend"
    assert defaults["jit_compile"] is (backend == "jax")
    losses = defaults["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    assert "model.compile(" in defaults["code"] and "model.fit(" in defaults["code"]
    assert f"jit_compile={backend == 'jax'}" in defaults["code"], defaults["code"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_steps_per_execution_where_the_trainer_has_it(backend):
    seen = scenario(backend)
    spe, defaults = seen["spe4"], seen["defaults"]
    if backend == "jax":
        assert (spe["steps_per_execution"], spe["reason"]) == (4, "--steps-per-execution")
        assert defaults["steps_per_execution"] > 1  # auto: one execution per epoch
    else:
        assert spe["steps_per_execution"] == 1 == defaults["steps_per_execution"]
        assert spe["reason"] == "1: Keras's PyTorch trainer runs one step per execution"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tensorflow_strategy_is_refused_with_what_to_use_and_nothing_changes(backend):
    refused = scenario(backend)["mirrored"]
    assert refused["unchanged"], refused
    assert "--strategy mirrored is TensorFlow's tf.distribute" in refused["error"]
    assert f"Keras runs on {backend} here" in refused["error"]
    instead = "keras.distribution.DataParallel" if backend == "jax" else "torch.distributed"
    assert instead in refused["error"] and "--strategy auto" in refused["error"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_precision_is_bfloat16_and_trains(backend):
    mixed = scenario(backend)["mixed"]
    assert not mixed["error"] and mixed["precision"] == "mixed_bfloat16", mixed
    assert f"rebuilt on the {backend} backend with the mixed_bfloat16 policy" in mixed["printed"]
    assert (
        f"precision mixed_bfloat16 · {'jax.jit' if backend == 'jax' else 'torch'}"
        in (mixed["printed"])
    )
    assert len(mixed["loss"]) == 3 and mixed["loss"][-1] < mixed["loss"][0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_and_interrupt_keep_finite_weights_and_say_why(backend):
    seen = scenario(backend)
    assert seen["nan"]["stopped"].startswith("the loss became NaN at epoch 1"), seen["nan"]
    assert "put back to where training started" in seen["nan"]["stopped"]
    assert seen["nan"]["finite"]
    interrupt = seen["interrupt"]
    assert interrupt["stopped"].startswith("interrupted in epoch 1"), interrupt
    assert "3 more step(s)" in interrupt["stopped"] and interrupt["finite"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_plugin_model_saves_and_loads_without_custom_objects(backend):
    saved = scenario(backend)["saved"]
    assert saved == {
        "error": "",
        "loss": "Quantile",
        "optimizer": "Lookahead",
        "same_prediction": True,
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_export_works_and_kreg_train_says_what_to_use(backend):
    export = scenario(backend)["export"]
    assert not export["error"] and {"model.keras", "run.json"} <= set(export["files"]), export
    assert export["train"].startswith("DistributedSetupError: kreg train runs exports with ")
    assert "KERAS_BACKEND=tensorflow" in export["train"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_live_plot_check_and_preflight_without_tensorflow(backend):
    seen = scenario(backend)
    assert seen["plot"]["redraws"] >= 1 and seen["plot"]["png"] > 1000, seen["plot"]
    checks = seen["check"]["checks"]
    assert seen["check"]["ok"], checks
    assert "tf_function" not in checks
    if backend == "jax":
        assert checks["compiled"][0] == "pass" and checks["gradient"][0] == "pass"
        assert checks["jit_compile"] == [
            "skipped",
            "not applicable: on JAX every compiled step is XLA: the jax.jit check covers it",
        ]
    else:
        assert checks["compiled"][0] == "skipped" and "runs steps eagerly" in checks["compiled"][1]
    assert seen["preflight"] == ["one-hot-with-sparse"]
    assert seen["tensorflow_imported"] is False


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_optimizer_broken_only_in_jax_fit_fails_naming_the_backend(backend):
    checks = scenario(backend)["shared_slot"]
    outcome, message = checks["fit"]
    if backend == "jax":  # JAX donates the model's and the slot's (one) buffer twice
        assert outcome == "fail", checks
        assert message.startswith("fit() with this optimizer failed on the jax backend: ")
        assert "donate the same buffer twice" in message and "ops.copy(variable)" in message
    else:  # PyTorch assigns in place: nothing is shared
        assert outcome == "pass" and message.startswith("2 fit() steps on torch"), checks
    # A class defined in a function is not registered with Keras: serialization warns.
    others = {n: o for n, (o, _) in checks.items() if n not in ("fit", "serialization")}
    assert set(others.values()) == {"pass"}, checks


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_all_passes_but_for_real_and_tensorflow_only_failures(backend):
    done = _python(backend, ["-m", "kreg", "check", "--all", "--json", "-j", "2"])
    reports = json.loads(done.stdout)["reports"]
    names = {r["subject"].split("'")[1]: r for r in reports}
    assert len(names) >= 92, sorted(names)
    wrong = []
    for name, report in names.items():
        failed = [c["name"] for c in report["checks"] if c["outcome"] == "fail"]
        if name.startswith("extra_keras_metrics:"):
            message = report["checks"][0]["message"]
            if failed != ["import"] or f"Keras runs on {backend} here" not in message:
                wrong.append((name, failed, message))
        elif failed != ([FAIL_EVERYWHERE[name]] if name in FAIL_EVERYWHERE else []):
            wrong.append((name, failed))
        compiled = [c for c in report["checks"] if c["name"] == "compiled"]
        if report["kind"] in ("loss", "metric", "schedule") and not failed:
            expected = "pass" if backend == "jax" else "skipped"
            if [c["outcome"] for c in compiled] != [expected]:
                wrong.append((name, compiled))
    assert not wrong, wrong


def test_jax_lays_a_cell_out_over_several_devices():
    done = _python(
        "jax",
        [str(ROOT / "tests" / "backend_scenario.py"), "--data-parallel"],
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("KREG-BACKEND ")]
    assert lines, done.stderr
    seen = json.loads(lines[-1].removeprefix("KREG-BACKEND "))
    assert "crashed" not in seen, seen.get("crashed")
    assert seen["error"] == "", seen
    assert "jax backend · DataParallel over 2 devices" in seen["header"], seen
    assert seen["rebuilt"], "a model built outside the distribution is rebuilt inside it"
    assert seen["loss"][-1] < seen["loss"][0], seen


def test_the_gpu_benchmark_runs_end_to_end_on_jax_without_tensorflow(tmp_path):
    """benchmarks/gpu.py --quick on the CPU: what the lent GPU machine runs, made small."""
    out = tmp_path / "RESULTS-gpu.md"
    done = _python(
        "jax",
        [str(ROOT / "benchmarks" / "gpu.py"), "--quick", "--backends", "jax", "--out", str(out)],
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    assert "KERAS_BACKEND=jax" in text and "CPU" in text, text
    for variant in ("plain Keras", "%%kcompile", "--mixed-precision", "--jit"):
        assert variant in text, (variant, text)


def test_the_device_command_fits_one_device_call():
    done = subprocess.run(
        ["bash", str(ROOT / "tools" / "gpu_carry.sh"), "--command"],
        capture_output=True,
        text=True,
        check=True,
    )
    command = done.stdout.strip()
    assert len(command) < 2000 and "--target /tmp/site .whl/*.whl" in command, command
    assert "benchmarks/gpu.py" in command and "$OUT/" in command
