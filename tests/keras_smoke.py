"""A smoke run of kreg under whatever Keras is first on the path (tests/test_keras_versions.py).

Run in a fresh interpreter with ``PYTHONPATH=build/keras/<version>:<repo>``. It prints one
line ``KREG-SMOKE {json}``: the catalogue's size and plugin status, every built-in entry
built by ``kreg.get``, the seed's names and its Keras 2 spellings, one ``%%kcompile`` cell
that trains, its model saved and loaded without custom objects, ``kreg.check`` on one
entry of each kind, and the Keras internals kreg's multi-worker workaround patches.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any

import numpy as np


def _gets(kreg: Any) -> dict[str, Any]:
    from tests.test_resolution import REQUIRED, SEED_LEGACY, SEED_NAMES

    builtin = [e for e in kreg.entries() if e.plugin == "keras"]
    failures, built, needs_arguments = [], 0, 0
    for entry in builtin:
        if entry.parameters().required:
            needs_arguments += 1
            continue
        try:
            kreg.get(entry.qualified_name, kind=entry.kind)
            built += 1
        except Exception as error:  # reported, and the test fails on it
            failures.append(f"{entry.qualified_name}: {type(error).__name__}: {error}"[:300])
    seed_missing = []
    for name, kind, dotted in SEED_NAMES:
        try:
            kreg.get(name, kind=kind, **REQUIRED.get(dotted.rsplit(".", 1)[-1], {}))
        except Exception as error:
            seed_missing.append(f"{name} ({kind}): {type(error).__name__}: {error}"[:300])
    for spelling, kind, _, canonical in SEED_LEGACY:  # Keras 2 names: resolve, with a warning
        try:
            found = kreg.lookup(spelling, kind)
            if found.name != canonical:
                seed_missing.append(f"{spelling} ({kind}) -> {found.name}, not {canonical}")
        except Exception as error:
            seed_missing.append(f"{spelling} ({kind}): {type(error).__name__}: {error}"[:300])
    return {
        "entries": len(builtin),
        "built": built,
        "needs_arguments": needs_arguments,
        "get_failures": failures,
        "seed_failures": seed_missing,
    }


def _cell(keras: Any) -> dict[str, Any]:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kreg")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    shell.user_ns.update(model=model, x=x, y=x.sum(axis=1, keepdims=True))
    shell.run_cell_magic(
        "kcompile",
        "model -o run --no-plot",
        "loss = huber(delta=1.5)\n"
        "optimizer = adam(learning_rate=exponential_decay("
        "initial_learning_rate=0.01, decay_steps=100, decay_rate=0.9))\n"
        "metrics = [mae, rmse]\nx = x\ny = y\nepochs = 2",
    )
    run = shell.user_ns["run"]
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    run.model.save(path)
    loaded = keras.saving.load_model(path)
    same = np.allclose(loaded.predict(x, verbose=0), run.model.predict(x, verbose=0))
    return {
        "steps_per_execution": run.steps_per_execution,
        "epochs": run.epochs_completed,
        "loss_falls": run.history["loss"][-1] < run.history["loss"][0],
        "loaded_loss": type(loaded.loss).__name__,
        "loaded_same": bool(same),
    }


def _checks(kreg: Any) -> dict[str, str]:
    verdicts = {}
    for name, kind in (
        ("huber", "loss"),
        ("sparse_categorical_crossentropy", "loss"),
        ("dice", "loss"),
        ("mae", "metric"),
        ("accuracy", "metric"),
        ("adam", "optimizer"),
        ("cosine_decay", "schedule"),
    ):
        report = kreg.check(name, kind)
        verdicts[f"{kind}:{name}"] = (
            "ok"
            if report.ok
            else "; ".join(f"{c.name}: {c.message}"[:200] for c in report.failures)
        )
    return verdicts


def _multiworker_hooks() -> list[str]:
    """What kreg's multi-worker workaround (kreg.training.cluster) needs of Keras's internals;
    the names this Keras lacks."""
    import keras
    from keras.src.backend.tensorflow import trainer

    needed = {
        "trainer.reduce_per_replica": hasattr(trainer, "reduce_per_replica"),
        "trainer._collective_all_reduce_multi_worker": hasattr(
            trainer, "_collective_all_reduce_multi_worker"
        ),
        "Model._symbolic_build": hasattr(keras.Model, "_symbolic_build"),
    }
    return [name for name, present in needed.items() if not present]


def main() -> None:
    warnings.simplefilter("ignore")
    import keras

    import kreg

    result: dict[str, Any] = {"keras": keras.__version__, "keras_file": keras.__file__}
    result["plugin"] = {p.name: [p.status, p.error] for p in kreg.plugins() if p.name == "keras"}
    result.update(_gets(kreg))
    result["cell"] = _cell(keras)
    result["checks"] = _checks(kreg)
    result["multiworker_missing"] = _multiworker_hooks()
    print("KREG-SMOKE " + json.dumps(result))


if __name__ == "__main__":
    main()
