"""One process of tests/test_backends.py: kreg on the Keras backend ``KERAS_BACKEND`` names.

Run as a script (``python tests/backend_scenario.py``) with TensorFlow hidden
(``tools/hide_tensorflow`` first on ``PYTHONPATH``), it drives a real IPython shell
through ``%%kcompile`` cells and kreg's Python API, and prints one line
``KREG-BACKEND {json}`` of what it saw; the test module asserts on it. Importing this
module does nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import traceback
from typing import Any


def _cell(ip: Any, line: str, body: str) -> tuple[str, str]:
    """Run one ``%%kcompile`` cell; return (what it printed, the error's text or "")."""
    printed = io.StringIO()
    error = ""
    with contextlib.redirect_stdout(printed):
        try:
            ip.run_cell_magic("kcompile", line, body)
        except BaseException as raised:  # UsageError, or what the cell let through
            error = f"{type(raised).__name__}: {raised}"
    return printed.getvalue(), error


def scenario() -> dict[str, Any]:
    """Every backend-dependent feature once; returns what each one showed."""
    import keras
    import numpy as np
    from IPython.testing.globalipapp import start_ipython

    import kreg

    seen: dict[str, Any] = {"backend": keras.config.backend()}
    ip = start_ipython()
    ip.run_line_magic("load_ext", "kreg")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    labels = (x[:, :3].sum(axis=1) > 0).astype("int64") + (x[:, 3] > 1).astype("int64")

    def mlp() -> Any:
        return keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )

    model = mlp()
    ip.user_ns.update(x=x, y=labels, model=model, np=np)
    body = (
        "loss = sparse_categorical_crossentropy\noptimizer = adam(learning_rate=0.01)\n"
        "metrics = [accuracy]\nx = x\ny = y\nepochs = 3\nbatch_size = 32\n"
        "validation_split = 0.25"
    )

    # Defaults: the header, the Run, the code it gives back.
    printed, error = _cell(ip, "model -o run --no-plot", body)
    run = ip.user_ns.get("run")
    seen["defaults"] = {
        "printed": printed,
        "error": error,
        "device": getattr(run, "device", None),
        "strategy": getattr(run, "strategy", None),
        "jit_compile": getattr(run, "jit_compile", None),
        "steps_per_execution": getattr(run, "steps_per_execution", None),
        "loss": list(getattr(run, "history", {}).get("loss", [])),
        "summary": run.summary() if run is not None else "",
        "code": run.to_code() if run is not None else "",
    }

    # A tf.distribute strategy: refused, the model untouched.
    before = [w.copy() for w in ip.user_ns["model"].get_weights()]
    printed, error = _cell(ip, "model --strategy mirrored --no-plot", body)
    after = ip.user_ns["model"].get_weights()
    seen["mirrored"] = {
        "error": error,
        "unchanged": all(np.array_equal(a, b) for a, b in zip(before, after)),
    }

    # Mixed precision: bfloat16, the model rebuilt and trained.
    printed, error = _cell(ip, "model -o mixed --mixed-precision --no-plot", body)
    mixed = ip.user_ns.get("mixed")
    seen["mixed"] = {
        "printed": printed,
        "error": error,
        "precision": getattr(mixed, "precision", None),
        "loss": list(getattr(mixed, "history", {}).get("loss", [])),
    }

    # Steps per execution asked for by number.
    printed, error = _cell(ip, "model -o several --steps-per-execution 4 --no-plot", body)
    several = ip.user_ns.get("several")
    seen["spe4"] = {
        "error": error,
        "steps_per_execution": getattr(several, "steps_per_execution", None),
        "reason": getattr(several, "steps_per_execution_reason", None),
    }

    # A NaN loss: the run stops, says why, and keeps finite weights.
    ip.user_ns["model"] = mlp()
    ip.user_ns["bad_x"] = np.where(np.arange(256)[:, None] >= 64, np.nan, x).astype("float32")
    nan_body = body.replace("x = x", "x = bad_x").replace("validation_split = 0.25", "")
    printed, error = _cell(ip, "model -o nan_run --no-plot --no-preflight", nan_body)
    nan_run = ip.user_ns.get("nan_run") or kreg.last_run
    seen["nan"] = {
        "printed": printed,
        "error": error,
        "stopped": getattr(nan_run, "stopped", None),
        "finite": all(np.isfinite(w).all() for w in ip.user_ns["model"].get_weights()),
    }

    # An interrupt in the middle of an epoch: weights kept, the run says so.
    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if batch == 2:
                raise KeyboardInterrupt

    ip.user_ns["model"] = mlp()
    ip.user_ns["interrupt"] = Interrupt()
    printed, error = _cell(
        ip, "model -o cut --no-plot --steps-per-execution 1", body + "\ncallbacks = [interrupt]"
    )
    cut = ip.user_ns.get("cut") or kreg.last_run
    seen["interrupt"] = {
        "printed": printed,
        "error": error,
        "stopped": getattr(cut, "stopped", None),
        "finite": all(np.isfinite(w).all() for w in ip.user_ns["model"].get_weights()),
    }

    # Save and load a model compiled with a plugin's loss, without custom_objects.
    ip.user_ns["model"] = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    ip.user_ns["targets"] = x[:, :3]
    plugin_body = "loss = quantile(quantile=0.7)\noptimizer = lookahead(optimizer=adam)\n"
    printed, error = _cell(
        ip, "model --no-plot", plugin_body + "x = x\ny = targets\nepochs = 1\nbatch_size = 64"
    )
    folder = tempfile.mkdtemp()
    saved = os.path.join(folder, "model.keras")
    ip.user_ns["model"].save(saved)
    loaded = keras.saving.load_model(saved)
    seen["saved"] = {
        "error": error,
        "loss": type(getattr(loaded, "loss", None)).__name__,
        "optimizer": type(getattr(loaded, "optimizer", None)).__name__,
        "same_prediction": bool(
            np.allclose(
                loaded.predict(x[:4], verbose=0),
                ip.user_ns["model"].predict(x[:4], verbose=0),
                atol=1e-5,
            )
        ),
    }

    # Export works (a .keras file is backend-neutral); kreg train refuses with what to use.
    ip.user_ns["model"] = mlp()
    export = os.path.join(folder, "export")
    printed, error = _cell(ip, f"model --no-plot --export {export}", body)
    from kreg.training.distributed import train_export

    try:
        train_export(export, epochs=1)
        refused = ""
    except Exception as raised:
        refused = f"{type(raised).__name__}: {raised}"
    seen["export"] = {"error": error, "files": sorted(os.listdir(export)), "train": refused}

    # The live plot draws and leaves a PNG.
    from kreg.ui.liveview import LiveView

    view = LiveView(epochs=2, batch_size=32, mode="notebook", min_interval=0, max_overhead=1)
    plotted = mlp()
    plotted.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    with contextlib.redirect_stdout(io.StringIO()):
        plotted.fit(x, labels, epochs=2, batch_size=32, verbose=0, callbacks=[view])
        view.finish()
    seen["plot"] = {"redraws": view.redraws, "png": len(view.png or b"")}

    # The contracts and preflight.
    report = kreg.check("huber")
    seen["check"] = {
        "ok": report.ok,
        "checks": {r.name: (r.outcome, r.message) for r in report.results},
    }
    # An optimizer whose slots share the model's buffers: fine eagerly, broken in JAX's fit().
    from kreg_contrib.optimizers import Lookahead

    class SharedSlow(Lookahead):
        def build(self, variables: list[Any]) -> None:
            super().build(variables)
            for slow, variable in zip(self._slow, variables):
                slow.assign(variable)  # the value itself, not a copy

    shared = kreg.check(SharedSlow, "optimizer")
    seen["shared_slot"] = {r.name: (r.outcome, r.message) for r in shared.results}
    found = kreg.preflight(
        mlp(), loss="sparse_categorical_crossentropy", y=np.eye(3)[labels].astype("float32")
    )
    seen["preflight"] = [finding.code for finding in found.errors]
    seen["tensorflow_imported"] = "tensorflow" in sys.modules
    return seen


def data_parallel() -> dict[str, Any]:
    """One cell with several JAX devices (``XLA_FLAGS`` makes the CPU two devices)."""
    import keras
    import numpy as np
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "kreg")
    x = np.random.default_rng(1).normal(size=(256, 4)).astype("float32")
    ip.user_ns.update(
        x=x,
        y=x.sum(axis=1, keepdims=True),
        model=keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]),
    )
    printed, error = _cell(
        ip,
        "model -o run --no-plot",
        "loss = mse\noptimizer = sgd(learning_rate=0.05)\nx = x\ny = y\nepochs = 3\n"
        "batch_size = 32",
    )
    run = ip.user_ns.get("run")
    return {
        "header": next((line for line in printed.splitlines() if " · " in line), printed),
        "rebuilt": "rebuilt on the jax backend (DataParallel over 2 devices)" in printed,
        "error": error,
        "loss": list(getattr(run, "history", {}).get("loss", [])),
    }


if __name__ == "__main__":
    try:
        result = data_parallel() if "--data-parallel" in sys.argv else scenario()
    except BaseException:
        result = {"crashed": traceback.format_exc()}
    print("KREG-BACKEND " + json.dumps(result, default=str))
