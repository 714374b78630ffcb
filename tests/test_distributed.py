"""Export a notebook run and train it with ``kreg train`` under tf.distribute: real processes.

Everything runs on this CPU machine over loopback: ``MirroredStrategy`` over two
logical CPU devices, two ``MultiWorkerMirroredStrategy`` worker processes with
their own ``TF_CONFIG`` on 127.0.0.1 ports, and a worker killed mid-run then
restarted, resuming from ``tf.train.CheckpointManager`` checkpoints. Each run is
compared with the notebook's own training of the same export.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from kreg.errors import DistributedSetupError, ExportError
from tests.conftest import subprocess_env

TOLERANCE = 1e-5
EPOCHS = 4
CELL = f"""
loss = huber(delta=1.0)
optimizer = adam(
    learning_rate=warmup_cosine(peak_learning_rate=0.01, warmup_steps=50, decay_steps=500)
)
metrics = [mae]
x = x_train
y = y_train
epochs = {EPOCHS}
batch_size = 16
shuffle = False
"""


@pytest.fixture(scope="module")
def shell(ip) -> InteractiveShell:
    return ip


def _model(keras):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )


@pytest.fixture(scope="module")
def notebook_run(keras, shell, tmp_path_factory):
    """A run trained in the notebook with ``--export``: the export folder and the run."""
    rng = np.random.default_rng(0)
    x = rng.random((2048, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) + 0.1 * rng.normal(size=(2048, 1))).astype("float32")
    folder = tmp_path_factory.mktemp("export") / "mlp"
    shell.user_ns.update(model=_model(keras), x_train=x, y_train=y)
    shell.run_cell_magic("kcompile", f"model -o run --no-plot --export {folder}", CELL)
    return folder, shell.user_ns["run"]


def kreg_train(*arguments: str, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """Start ``kreg train ...`` in a child process (stdout and stderr together)."""
    return subprocess.Popen(
        [sys.executable, "-m", "kreg", "train", *arguments, "--verbose", "0"],
        env=env or subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen, timeout: float = 180) -> str:
    """Wait for ``process``; its output, asserting it succeeded."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"kreg train ran over {timeout} s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-3000:]
    return output


def trained_weights(keras, folder: Path) -> list[np.ndarray]:
    return keras.saving.load_model(folder / "model.keras", compile=False).get_weights()


def history(folder: Path) -> dict[str, list[float]]:
    return json.loads((folder / "history.json").read_text())["history"]


def assert_same_weights(left: list[np.ndarray], right: list[np.ndarray]) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right):
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=TOLERANCE)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def worker_env(ports: list[int], index: int) -> dict[str, str]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
    return subprocess_env(TF_CONFIG=json.dumps(config))


@pytest.fixture(scope="module")
def one_device(notebook_run, tmp_path_factory) -> Path:
    """``kreg train`` of the export on one device: the reference for the distributed runs."""
    folder, _ = notebook_run
    output = tmp_path_factory.mktemp("one-device")
    log = finish(kreg_train(str(folder), "--strategy", "default", "--output", str(output)))
    assert "· default strategy" in log
    return output


def test_export_folder_is_self_contained_and_names_its_plugins(notebook_run):
    folder, _ = notebook_run
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "data.npz",
        "model.keras",
        "run.json",
    ]
    document = json.loads((folder / "run.json").read_text())
    schedule = document["compile"]["optimizer"]["config"]["learning_rate"]
    assert schedule["component"] == "contrib:warmup_cosine"
    assert schedule["config"]["peak_learning_rate"] == 0.01
    assert document["compile"]["loss"] == {
        "component": "keras:huber",
        "kind": "loss",
        "config": {"delta": 1.0},
    }
    assert document["plugins"]["contrib"]["distribution"] == "kreg-contrib"
    assert document["fit"] == {"epochs": EPOCHS, "batch_size": 16, "shuffle": False}
    assert "kreg train" in (folder / "README.md").read_text()
    assert not any(p.suffix in (".pkl", ".pickle") for p in folder.iterdir())


def test_export_round_trip_trains_to_the_notebook_result(keras, notebook_run, one_device):
    """The export, trained by ``kreg train``, ends where the notebook's own training ended."""
    _, run = notebook_run
    assert_same_weights(trained_weights(keras, one_device), run.model.get_weights())
    np.testing.assert_allclose(history(one_device)["loss"], run.history["loss"], rtol=1e-5)


def test_mirrored_over_two_cpu_devices_equals_one_device(keras, notebook_run, one_device, tmp_path):
    folder, _ = notebook_run
    log = finish(
        kreg_train(
            str(folder), "--strategy", "mirrored", "--cpu-devices", "2", "--output", str(tmp_path)
        )
    )
    assert "mirrored over 2 CPU devices strategy" in log
    assert json.loads((tmp_path / "history.json").read_text())["replicas"] == 2
    assert_same_weights(trained_weights(keras, tmp_path), trained_weights(keras, one_device))


def test_two_multiworker_processes_train_to_the_one_worker_result(
    keras, notebook_run, one_device, tmp_path
):
    folder, _ = notebook_run
    ports = free_ports(2)
    workers = [
        kreg_train(
            str(folder),
            "--strategy",
            "multiworker",
            "--output",
            str(tmp_path),
            env=worker_env(ports, i),
        )
        for i in range(2)
    ]
    logs = [finish(worker) for worker in workers]
    for index, log in enumerate(logs):
        assert f"this is worker {index}, 2 replicas in sync" in log
    assert_same_weights(trained_weights(keras, tmp_path), trained_weights(keras, one_device))
    np.testing.assert_allclose(
        history(tmp_path)["loss"], history(one_device)["loss"], rtol=TOLERANCE
    )


def test_killed_worker_restarts_and_resumes_from_the_checkpoint(
    keras, notebook_run, one_device, tmp_path
):
    """Kill worker 1 after epoch 2's checkpoint; the job restarts and resumes, and ends where an
    uninterrupted run ends.

    With ``MultiWorkerMirroredStrategy`` the surviving worker cannot go on alone: TensorFlow's
    collective health check makes it fail (or the test stops it, as a scheduler's restart policy
    would), and both workers are started again with the same command.
    """
    folder, _ = notebook_run
    checkpoints, output = tmp_path / "checkpoints", tmp_path / "out"
    arguments = [str(folder), "--strategy", "multiworker", "--checkpoint-dir", str(checkpoints)]
    arguments += ["--output", str(output)]
    ports = free_ports(2)
    workers = [kreg_train(*arguments, env=worker_env(ports, i)) for i in range(2)]
    deadline = time.monotonic() + 120
    while not (checkpoints / "ckpt-2.index").exists():
        assert time.monotonic() < deadline, "no checkpoint of epoch 2 within 120 s"
        assert workers[1].poll() is None, workers[1].communicate()[0][-3000:]
        time.sleep(0.05)
    assert workers[1].poll() is None, "worker 1 finished before it could be killed"
    workers[1].send_signal(signal.SIGKILL)
    workers[1].wait(timeout=10)
    try:
        survivor, _ = workers[0].communicate(timeout=60)
        assert workers[0].returncode == 2, survivor[-3000:]
        assert "another worker stopped" in survivor and "Restart every worker" in survivor
    except subprocess.TimeoutExpired:
        workers[0].kill()  # what a scheduler restarting the failed job would do
        workers[0].wait(timeout=10)
    for worker in workers:
        worker.stdout.close()
    assert not output.exists() or not (output / "model.keras").exists()
    ports = free_ports(2)
    restarted = [kreg_train(*arguments, env=worker_env(ports, i)) for i in range(2)]
    logs = [finish(worker) for worker in restarted]
    resumed = [line for line in logs[0].splitlines() if "resumed from the checkpoint" in line]
    assert resumed, logs[0][-3000:]
    epoch = int(resumed[0].split("of epoch ")[1].split()[0])
    assert 2 <= epoch < EPOCHS
    assert f"finished epochs {epoch + 1}-{EPOCHS}" in logs[0]
    assert not [p for p in checkpoints.iterdir() if p.name.startswith(".scratch")]
    assert_same_weights(trained_weights(keras, output), trained_weights(keras, one_device))


def test_missing_plugin_is_named_with_the_fix(notebook_run, tmp_path):
    folder, _ = notebook_run
    process = kreg_train(
        str(folder), "--output", str(tmp_path), env=subprocess_env(KREG_PLUGINS="")
    )
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output
    assert "'contrib'" in output and "pip install kreg-contrib" in output
    assert not (tmp_path / "model.keras").exists()


def test_export_refuses_notebook_components_before_training(keras, shell, tmp_path):
    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2

    model = _model(keras)
    before = [w.copy() for w in model.get_weights()]
    shell.user_ns.update(
        model=model, my_loss=my_loss, x_train=np.zeros((8, 4)), y_train=np.zeros((8, 1))
    )
    with pytest.raises(UsageError, match="'my_loss' comes from the notebook's namespace"):
        shell.run_cell_magic(
            "kcompile",
            f"model --no-plot --export {tmp_path}",
            "loss = my_loss\noptimizer = adam\nx = x_train\ny = y_train",
        )
    assert not model.compiled
    assert_same_weights(model.get_weights(), before)
    assert not (tmp_path / "run.json").exists()


def test_parameter_server_is_refused_with_the_reason(notebook_run):
    folder, _ = notebook_run
    from kreg.ui import cli

    assert cli.main(["train", str(folder), "--strategy", "parameter-server"]) == 2


def test_cpu_can_still_be_split_after_kreg_and_tensorflow_are_imported():
    """kreg's import-time hook must not start TensorFlow's runtime (devices stay configurable)."""
    code = (
        "import kreg, tensorflow as tf; kreg.plugins(); kreg.lookup('accuracy').load(); "
        "from kreg.training.cluster import use_cpu_devices; use_cpu_devices(2); "
        "print(len(tf.config.list_logical_devices('CPU')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "2", result.stderr[-2000:]


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("the worker processes are killed with POSIX signals")


def test_data_sources_npz_dataset_folder_and_loader(keras, notebook_run, tmp_path, monkeypatch):
    """``--data``: an .npz, a tf.data save folder, or module:function; else the export's own."""
    import tensorflow as tf

    from kreg.training.distributed import find_data
    from kreg.training.exported import load_export

    folder, run = notebook_run
    export = load_export(folder)
    own = find_data(None, export)
    np.testing.assert_array_equal(own["x"], run.spec.fit_args["x"])
    np.savez(tmp_path / "other.npz", x=own["x"][:10], y=own["y"][:10])
    assert find_data(str(tmp_path / "other.npz"), export)["y"].shape == (10, 1)
    tf.data.Dataset.from_tensor_slices((own["x"][:8], own["y"][:8])).batch(4).save(
        str(tmp_path / "saved")
    )
    dataset = find_data(str(tmp_path / "saved"), export)["x"]
    assert [tuple(x.shape) for x, _ in dataset] == [(4, 4), (4, 4)]
    (tmp_path / "my_loader.py").write_text(
        "import numpy as np\ndef load():\n    return np.ones((6, 4)), np.zeros((6, 1))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert find_data("my_loader:load", export)["x"].shape == (6, 4)
    with pytest.raises(DistributedSetupError, match="module:function"):
        find_data("my_loader:missing", export)
    np.savez(tmp_path / "no_x.npz", features=own["x"][:2])
    with pytest.raises(ExportError, match="no array named x"):
        find_data(str(tmp_path / "no_x.npz"), export)


def test_export_refuses_initial_weights_it_did_not_keep(keras, shell, tmp_path, monkeypatch):
    """Above the safety-copy limit no starting weights are kept: the export says so."""
    monkeypatch.setenv("KREG_SAFETY_COPY_GB", "0")
    x, y = np.zeros((8, 4), "float32"), np.zeros((8, 1), "float32")
    shell.user_ns.update(model=_model(keras), x_train=x, y_train=y)
    shell.run_cell_magic(
        "kcompile", "model -o big --no-plot", "loss = mse\nx = x_train\ny = y_train"
    )
    run = shell.user_ns["big"]
    assert run.initial_weights is None
    with pytest.raises(ExportError, match="were not kept"):
        run.export(tmp_path / "initial")
    assert not (tmp_path / "initial").exists()
    run.export(tmp_path / "trained", weights="trained")
    assert (tmp_path / "trained" / "model.keras").is_file()
