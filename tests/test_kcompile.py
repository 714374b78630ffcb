"""%%kcompile through a real IPython shell: grammar, refusals, errors, training, Run, magics."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from IPython.core.error import UsageError

import kreg
from tests.conftest import ROOT, subprocess_env


class Canary:
    """A notebook object that records every attribute access, call, item or iteration."""

    def __init__(self) -> None:
        object.__setattr__(self, "hits", [])

    def __getattribute__(self, name: str):
        if name == "hits":
            return object.__getattribute__(self, "hits")
        object.__getattribute__(self, "hits").append(("getattr", name))
        return object.__getattribute__(self, name)

    def __call__(self, *args, **kwargs):
        self.hits.append(("call", args))

    def __getitem__(self, key):
        self.hits.append(("getitem", key))

    def __iter__(self):
        self.hits.append(("iter", None))
        return iter(())


@pytest.fixture
def data(ip, keras):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    ip.user_ns.update({"model": model, "x_train": x, "y_train": y, "canary": Canary()})
    return ip.user_ns


def kcompile(ip, line: str, body: str):
    return ip.run_cell_magic("kcompile", line, textwrap.dedent(body).strip("\n"))


def test_load_ext_imports_no_tensorflow():
    code = (
        "import sys, time\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'kreg')\n"
        "assert 'kcompile' in ip.magics_manager.magics['cell']\n"
        "assert 'kreg' in ip.magics_manager.magics['line']\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr


SEED_CELL = """
    loss = huber(delta=1.5)
    optimizer = adam(
        learning_rate=exponential_decay(
            initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.9
        ),
        clipnorm=1.0,  # a value may continue inside brackets
    )
    metrics = [mae, rmse]  # the issue's example
    x = x_train
    y = y_train
    epochs = 2
    batch_size = 16
    validation_split = 0.25
"""


def test_dry_run_resolves_everything_and_changes_nothing(ip, data, capsys):
    model = data["model"]
    kcompile(ip, "model --dry-run", SEED_CELL)
    shown = capsys.readouterr().out
    assert not model.compiled
    assert "keras.losses.Huber(delta=1.5)" in shown
    assert (
        "keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.ExponentialDecay("
        "initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.9), clipnorm=1.0)"
    ) in shown
    assert (
        "metrics=[keras.metrics.MeanAbsoluteError(), keras.metrics.RootMeanSquaredError()]" in shown
    )
    assert (
        "history = model.fit(x_train, y_train, epochs=2, batch_size=16, validation_split=0.25)"
        in shown
    )


REFUSED = [
    ("x = canary.shape", "attribute access", 2, 5),
    ("x = canary()", "is a call", 2, 5),
    ("loss = canary(1)", "calls a notebook variable", 2, 8),
    ("x = canary[0]", "indexing", 2, 5),
    ("x = [c for c in canary]", "comprehension", 2, 5),
    ("x = __import__('os')", "names starting with '_'", 2, 5),
    ("x = (lambda: canary)()", "only registry components can be called", 2, 5),
    ("epochs = 1 + 1", "arithmetic operator", 2, 10),
    ("x = f'{canary}'", "f-string", 2, 5),
    ("import os", "only `key = value` lines", 2, 1),
    ("epochs = 2\nloss = huber(**canary)", "unpacking", 3, 8),
    ("loss = huber(delta=canary.x)", "attribute access", 2, 20),
    ("epochs = (y := 3)", "walrus", 2, 11),
    ("def f(): pass", "only `key = value` lines", 2, 1),
]


@pytest.mark.parametrize(("body", "reason", "line", "column"), REFUSED)
def test_code_in_a_cell_is_refused_and_never_runs(ip, data, body, reason, line, column):
    canary = data["canary"]
    with pytest.raises(UsageError) as caught:
        kcompile(ip, "model", body)
    message = str(caught.value)
    assert reason in message
    assert message.startswith(f"line {line}, column {column}:"), message
    assert canary.hits == [], "the cell ran code"
    assert not data["model"].compiled


ERRORS = [
    ("loss = hubber", "line 2, column 8", "'huber'"),
    ("loss = huber(delta=1.5)\noptimizer = adamm", "line 3, column 13", "'adam'"),
    ("loss = huber(dleta=1.5)", "line 2, column 8", "Did you mean 'delta'?"),
    ("loss = mse\nepoch = 3", "line 3, column 1", "Did you mean 'epochs'?"),
    ("loss = mse\nx = x_trian", "line 3, column 5", "'x_train'"),
    (
        "loss = mse\nx = x_train\nepochs = 0",
        "line 4, column 1",
        "epochs must be a whole number >= 1",
    ),
    ("loss = mse\nepochs = 3", "line 3, column 1", "the cell has no x"),
    ("loss = adam", "line 2, column 8", "'adam' is an optimizer, not a loss"),
    ("metrics = [mae, accuracyy]", "line 2, column 17", "'accuracy'"),
    ("loss = mse\nloss = mae", "line 3, column 1", "set twice"),
    (
        "optimizer = sgd(learning_rate=exponential_decy(0.1, 10, 0.9))",
        "line 2, column 31",
        "'exponential_decay'",
    ),
]


@pytest.mark.parametrize(("body", "where", "hint"), ERRORS)
def test_bad_cell_points_at_the_line_and_leaves_the_model_as_it_was(ip, data, body, where, hint):
    model = data["model"]
    model.compile(loss="mse", optimizer="sgd")
    optimizer, loss, weights = model.optimizer, model.loss, model.get_weights()
    with pytest.raises(UsageError) as caught:
        kcompile(ip, "model", body)
    message = str(caught.value)
    assert message.startswith(where), message
    assert hint in message, message
    assert model.optimizer is optimizer and model.loss == loss
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_unknown_model_and_bad_flags_are_usage_errors(ip, data):
    with pytest.raises(UsageError, match="Did you mean 'model'"):
        kcompile(ip, "modle", "loss = mse")
    with pytest.raises(UsageError, match=r"not a keras\.Model"):
        kcompile(ip, "x_train", "loss = mse")
    with pytest.raises(UsageError, match="--strategy must be one of"):
        kcompile(ip, "model --strategy gpu", "loss = mse")
    with pytest.raises(UsageError, match="--jit or --no-jit"):
        kcompile(ip, "model --jit --no-jit", "loss = mse")
    with pytest.raises(UsageError, match="--steps-per-execution"):
        kcompile(ip, "model --steps-per-execution fast", "loss = mse")


def test_user_components_from_the_namespace_must_follow_the_contract(ip, data, keras):
    def my_loss(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

    def broken(y_true):
        return y_true

    data.update({"my_loss": my_loss, "broken": broken})
    kcompile(ip, "model", "loss = my_loss\noptimizer = sgd")
    assert data["model"].loss is my_loss
    with pytest.raises(
        UsageError, match="line 2, column 8: the variable 'broken' is not a Keras loss"
    ):
        kcompile(ip, "model", "loss = broken")


def _plain_keras_twin(keras, model, code: str, namespace: dict) -> dict:
    """Run Run.to_code() on an identical fresh model with plain Keras (no kreg involved)."""
    keras.utils.set_random_seed(0)
    twin = keras.models.clone_model(model)
    twin.set_weights(namespace["initial_weights"])
    scope = {"model": twin, "x_train": namespace["x_train"], "y_train": namespace["y_train"]}
    keras.utils.set_random_seed(1)
    exec(code[:-1] + ", verbose=0)", scope)
    return {"model": twin, "history": scope["history"].history}


def test_training_equals_plain_keras_and_the_run_records_it(ip, data, keras):
    data["initial_weights"] = data["model"].get_weights()
    keras.utils.set_random_seed(1)
    kcompile(ip, "model -o run", SEED_CELL)
    run = data["run"]
    assert run is kreg.last_run and run.model is data["model"]
    assert run.epochs_completed == 2 and run.stopped is None
    assert set(run.history) == {
        "loss",
        "mean_absolute_error",
        "root_mean_squared_error",
        "val_loss",
        "val_mean_absolute_error",
        "val_root_mean_squared_error",
    }
    assert all(len(v) == 2 for v in run.history.values())
    assert run.steps_per_execution == 3, (
        "48 training samples / 16 = 3 steps: one execution per epoch"
    )
    assert run.samples_per_second > 0 and run.wall_seconds > 0
    assert "CPU" in run.device and run.strategy == "default"
    twin = _plain_keras_twin(keras, data["model"], run.to_code(), data)
    np.testing.assert_allclose(run.history["loss"], twin["history"]["loss"], rtol=1e-6)
    for ours, theirs in zip(data["model"].get_weights(), twin["model"].get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    assert "kreg run" in run._repr_html_() and "2 epochs" in repr(run)
    assert run.plot().data[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_compiles_without_x(ip, data):
    kcompile(ip, "model", "loss = mse\noptimizer = sgd(learning_rate=0.05)\nmetrics = [mae]")
    model = data["model"]
    assert model.compiled and type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert kreg.last_run.history == {} and "compiled only" in kreg.last_run.summary()


class InterruptAt:
    """A callback that raises KeyboardInterrupt, as a kernel interrupt does, at one batch."""

    def __new__(cls, keras, epoch: int):
        class Interrupt(keras.callbacks.Callback):
            def on_epoch_begin(self, index, logs=None):
                if index == epoch:
                    self.weights_before = [w.copy() for w in self.model.get_weights()]
                    raise KeyboardInterrupt

        return Interrupt()


def test_interrupt_keeps_weights_and_partial_history_and_the_next_cell_works(ip, data, keras):
    stopper = InterruptAt(keras, epoch=2)
    data["stopper"] = stopper
    kcompile(
        ip,
        "model -o run",
        "loss = mse\noptimizer = sgd\nx = x_train\ny = y_train\nepochs = 5\ncallbacks = [stopper]",
    )
    run = data["run"]
    assert run.stopped.startswith("interrupted in epoch 3, after 2 complete epoch(s)")
    assert len(run.history["loss"]) == 2, "the two completed epochs are kept"
    for kept, trained in zip(data["model"].get_weights(), stopper.weights_before):
        np.testing.assert_array_equal(kept, trained)
    kcompile(
        ip, "model -o again", "loss = mse\noptimizer = sgd\nx = x_train\ny = y_train\nepochs = 1"
    )
    assert data["again"].stopped is None and len(data["again"].history["loss"]) == 1


def test_nan_loss_stops_with_a_clear_message(ip, data):
    broken = data["y_train"].copy()
    broken[5] = np.nan
    data["y_nan"] = broken
    kcompile(ip, "model -o run", "loss = mse\noptimizer = sgd\nx = x_train\ny = y_nan\nepochs = 3")
    assert "NaN" in data["run"].stopped and "learning rate" in data["run"].stopped


def test_mixed_precision_rebuilds_and_restores_the_global_policy(ip, data, keras):
    before = keras.mixed_precision.global_policy().name
    original = data["model"]
    kcompile(
        ip,
        "model --mixed-precision -o run",
        "loss = mse\noptimizer = adam\nx = x_train\ny = y_train\nepochs = 1",
    )
    assert keras.mixed_precision.global_policy().name == before
    rebuilt = data["model"]
    assert rebuilt is not original and data["run"].model is rebuilt
    assert rebuilt.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert rebuilt.layers[-1].dtype_policy.name == "float32", "the output layer stays float32"
    assert data["run"].precision == "mixed_bfloat16"
    assert any("rebuilt" in note for note in data["run"].notes)


def test_line_magics_return_tables_and_reports(ip):
    listing = ip.run_line_magic("kreg", "list *crossentropy* --kind loss")
    assert "<table" in listing._repr_html_() and "categorical_crossentropy" in str(listing)
    shown = ip.run_line_magic("kreg", "show huber")
    assert "delta=1.0" in str(shown)
    report = ip.run_line_magic("kreg", "check huber")
    assert report.ok and "<table" in report._repr_html_()
    plugins = ip.run_line_magic("kreg", "plugins")
    assert "keras" in str(plugins) and " s" in str(plugins)  # import time shown
    with pytest.raises(UsageError):
        ip.run_line_magic("kreg", "frobnicate")


def test_tab_completion_inside_a_cell(ip, data):
    def complete(text: str) -> list[str]:
        return [c.text for c in ip.Completer.completions(text, len(text))]

    assert "epochs" in complete("%%kcompile model\nloss = mse\nepo")
    assert "huber" in complete("%%kcompile model\nloss = hub")
    assert "delta=" in complete("%%kcompile model\nloss = huber(del")
    assert "exponential_decay" in complete("%%kcompile model\noptimizer = sgd(learning_rate=expo")
    assert "x_train" in complete("%%kcompile model\nx = x_tr")


MIRRORED = """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    import keras
    from IPython.core.interactiveshell import InteractiveShell
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "kreg")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    results = {}
    for strategy in ("mirrored", "default"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        ip.user_ns.update(model=model, x_train=x, y_train=y)
        original = model
        ip.run_cell_magic(
            "kcompile",
            f"model --strategy {strategy} -o run --no-plot",
            "loss = mse\\noptimizer = sgd(learning_rate=0.1)\\nx = x_train\\ny = y_train\\n"
            "epochs = 3\\nbatch_size = 16\\nshuffle = False",
        )
        run = ip.user_ns["run"]
        results[strategy] = {
            "strategy": run.strategy,
            "replaced": ip.user_ns["model"] is not original,
            "replicas": ip.user_ns["model"].distribute_strategy.num_replicas_in_sync,
            "weights": [w.tolist() for w in ip.user_ns["model"].get_weights()],
            "loss": run.history["loss"],
        }
    print(json.dumps(results))
"""


def test_mirrored_strategy_over_two_logical_cpus_matches_one_device(tmp_path):
    import json

    script = tmp_path / "mirrored.py"
    script.write_text(textwrap.dedent(MIRRORED))
    done = subprocess.run(
        [sys.executable, str(script)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    mirrored, default = results["mirrored"], results["default"]
    assert mirrored["strategy"] == "mirrored over 2 CPU devices"
    assert mirrored["replaced"] and mirrored["replicas"] == 2
    assert default["strategy"] == "default" and not default["replaced"]
    np.testing.assert_allclose(mirrored["loss"], default["loss"], rtol=1e-4)
    for ours, theirs in zip(mirrored["weights"], default["weights"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
