"""Nothing lost: a model trained by ``%%kcompile``, saved to .keras, goes on identically elsewhere.

Each model is compiled with built-in components (Adam, ``mae``, ``binary_accuracy``, and
``cosine_similarity(axis=0)``, whose axis kreg's config repair keeps), kreg's own ``acc``
(AutoAccuracy), kreg-contrib ones (the quantile loss, ``matthews_correlation``, the
``warmup_cosine`` and ``one_cycle`` schedules, the ``lookahead`` optimizer) and a user's own (a
metric and a loss registered with ``keras.saving.register_keras_serializable`` in a module of the
"notebook"). After a few steps it is saved; a fresh process imports kreg and that module, loads
the file (``safe_mode`` on), and both processes report weights, every optimizer variable (the
iteration count too), the learning rate the schedule gives now, the compile config, the live
optimizer and loss configs and an evaluation, then train one more epoch on the same data.
Everything must match exactly.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests import reliability
from tests.conftest import ROOT, subprocess_env

AREA = "nothing lost"
MODULE = "kreg_nothing_lost_userparts"

USER_MODULE = '''
"""A user's own components, as a notebook would import them."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="userparts")
class WithinTolerance(keras.metrics.Metric):
    """The fraction of predictions within ``tolerance`` of the target."""

    def __init__(self, tolerance=0.5, name="within_tolerance", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.tolerance = tolerance
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.seen = self.add_variable(shape=(), initializer="zeros", name="seen")

    def update_state(self, y_true, y_pred, sample_weight=None):
        close = ops.cast(ops.abs(y_true - y_pred) <= self.tolerance, self.dtype)
        self.hits.assign_add(ops.sum(close))
        self.seen.assign_add(ops.cast(ops.size(close), self.dtype))

    def result(self):
        return ops.divide_no_nan(self.hits, self.seen)

    def reset_state(self):
        self.hits.assign(0.0)
        self.seen.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "tolerance": self.tolerance}


@keras.saving.register_keras_serializable(package="userparts")
class SmoothedBCE(keras.losses.Loss):
    """Binary cross-entropy against labels pulled ``smoothing`` toward 1/2."""

    def __init__(self, smoothing=0.1, name="smoothed_bce", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype) * (1.0 - self.smoothing) + 0.5 * self.smoothing
        return ops.mean(ops.binary_crossentropy(y_true, y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}
'''

# The same code reports a model's state in both processes.
REPORT = '''
import json

import keras
import numpy as np


def numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def live_config(obj):
    return json.dumps(keras.saving.serialize_keras_object(obj), sort_keys=True, default=str)


def report(model, x, y):
    """The model's state, then one more epoch of training and the state after it."""
    optimizer = model.optimizer
    out = {f"weight {i}": w for i, w in enumerate(model.get_weights())}
    out.update({f"optimizer {i}": numpy(v) for i, v in enumerate(optimizer.variables)})
    out["iterations"] = numpy(optimizer.iterations)
    out["learning rate now"] = numpy(optimizer.learning_rate)
    out["compile config"] = np.array(
        json.dumps(model.get_compile_config(), sort_keys=True, default=str)
    )
    out["optimizer config (live)"] = np.array(live_config(optimizer))
    out["loss config (live)"] = np.array(live_config(model.loss))
    evaluated = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    out.update({f"evaluate {k}": np.array(v) for k, v in evaluated.items()})
    history = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0).history
    out.update({f"after: weight {i}": w for i, w in enumerate(model.get_weights())})
    out.update({f"after: optimizer {i}": numpy(v) for i, v in enumerate(optimizer.variables)})
    out.update({f"after: {k}": np.array(v) for k, v in history.items()})
    return out
'''

CHILD = f"""
import sys

import numpy as np

import kreg  # registers the plugins' classes, as any process that uses kreg
import keras
import {MODULE}  # the user's module, imported as a notebook would

{REPORT}

for name in sys.argv[2:]:
    folder = sys.argv[1]
    data = np.load(f"{{folder}}/{{name}}-data.npz")
    model = keras.models.load_model(f"{{folder}}/{{name}}.keras")  # safe_mode on
    np.savez(f"{{folder}}/{{name}}-child.npz", **report(model, data["x"], data["y"]))
"""

SCENARIOS = {
    "regression": (
        "relu",
        None,
        """
        loss = quantile(quantile=0.7)
        optimizer = adam(
            learning_rate=warmup_cosine(peak_learning_rate=0.02, warmup_steps=3, decay_steps=40),
            clipnorm=1.0,
        )
        metrics = [mae, cosine_similarity(axis=0), within]
        """,
    ),
    "classification": (
        "relu",
        "sigmoid",
        """
        loss = smoothed
        optimizer = lookahead(
            optimizer=adam(beta_1=0.8),
            sync_period=3,
            learning_rate=one_cycle(max_learning_rate=0.05, total_steps=40),
        )
        metrics = [binary_accuracy, acc, mcc]
        """,
    ),
}
FIT = """
x = x_train
y = y_train
epochs = 2
batch_size = 16
shuffle = False
"""


@pytest.fixture
def user_module(tmp_path):
    (tmp_path / f"{MODULE}.py").write_text(USER_MODULE)
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(MODULE)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(MODULE, None)


def _train_and_save(ip, keras, user, folder, name: str) -> dict:
    """Train through %%kcompile, save, and report this process's state (then go on training)."""
    hidden, output, body = SCENARIOS[name]
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    if output == "sigmoid":
        y = (y > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation=hidden),
            keras.layers.Dense(1, activation=output),
        ]
    )
    ip.user_ns.update(
        model=model,
        x_train=x,
        y_train=y,
        within=user.WithinTolerance(tolerance=0.75),
        smoothed=user.SmoothedBCE(smoothing=0.2),
    )
    cell = textwrap.dedent(body).strip("\n") + textwrap.dedent(FIT).rstrip("\n")
    ip.run_cell_magic("kcompile", "model -o run --no-plot", cell)
    assert ip.user_ns["run"].stopped is None
    model.save(folder / f"{name}.keras")
    np.savez(folder / f"{name}-data.npz", x=x, y=y)
    scope: dict = {}
    exec(REPORT, scope)
    return scope["report"](model, x, y)


def test_a_saved_model_loads_and_trains_on_identically_in_a_fresh_process(
    ip, keras, user_module, tmp_path
):
    ours = {name: _train_and_save(ip, keras, user_module, tmp_path, name) for name in SCENARIOS}
    (tmp_path / "child.py").write_text(textwrap.dedent(CHILD))
    done = subprocess.run(
        [sys.executable, str(tmp_path / "child.py"), str(tmp_path), *SCENARIOS],
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lost = []
    for name, mine in ours.items():
        assert int(mine["iterations"]) == 6, "48 samples, batch 16, 2 epochs: 6 steps"
        with np.load(tmp_path / f"{name}-child.npz") as loaded:
            theirs = dict(loaded)
        assert set(theirs) == set(mine), f"{name}: different quantities reported"
        for key, value in mine.items():
            # The state after loading must be identical; one more epoch, run in two processes,
            # may differ by float32 rounding at most (it has been identical so far).
            same = value.shape == theirs[key].shape and (
                np.array_equal(value, theirs[key])
                or (key.startswith("after:") and _close(value, theirs[key]))
            )
            reliability.record(AREA, 1, int(same))
            if not same:
                lost.append(f"{name}: {key}: here {value!r}, loaded {theirs[key]!r}")
    assert not lost, "\n".join(lost)


def _close(ours, theirs) -> bool:
    return ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-6, atol=1e-7)
