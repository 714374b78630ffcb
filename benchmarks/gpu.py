"""The accelerator path: one model trained by plain Keras defaults and by %%kcompile on one GPU.

Run on a machine with a GPU: ``python benchmarks/gpu.py``. It trains the same
CNN from the same weights with plain ``compile``+``fit`` (Keras defaults), with
``%%kcompile`` defaults (``--strategy auto``: XLA on a GPU through Keras's
``jit_compile="auto"``, ``steps_per_execution`` auto), with ``--mixed-precision``
and with ``--jit``, and prints samples/s for each and the ratio to plain Keras,
with the card's name, as JSON. Without a GPU it says so and exits 0 (``--cpu``
runs it anyway, as a smoke test).
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from IPython.core.interactiveshell import InteractiveShell

SAMPLES, EPOCHS, BATCH = 20_000, 3, 128


def cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(128, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def main() -> int:
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and "--cpu" not in sys.argv:
        print(json.dumps({"gpu": None, "note": "no GPU visible: nothing measured"}))
        return 0
    samples = SAMPLES if gpus else 2_000
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=(samples,)).astype("int32")
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpus else "CPU"
    results: dict[str, dict[str, float]] = {}

    model = cnn()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    started = time.perf_counter()
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    results["plain"] = {"seconds": time.perf_counter() - started}

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kreg")
    cell = (
        "loss = sparse_categorical_crossentropy\noptimizer = adam\nx = x_train\ny = y_train\n"
        f"epochs = {EPOCHS}\nbatch_size = {BATCH}"
    )
    for label, flags in (
        ("kcompile", ""),
        ("kcompile_mixed_precision", "--mixed-precision"),
        ("kcompile_jit", "--jit"),
    ):
        shell.user_ns.update(model=cnn(), x_train=x, y_train=y)
        started = time.perf_counter()
        shell.run_cell_magic("kcompile", f"model -o run --no-plot {flags}", cell)
        run = shell.user_ns["run"]
        results[label] = {
            "seconds": time.perf_counter() - started,
            "steps_per_execution": run.steps_per_execution,
            "jit_compile": run.jit_compile,
            "precision": run.precision,
        }
    for values in results.values():
        values["samples_per_second"] = samples * EPOCHS / values["seconds"]
        values["ratio_to_plain"] = results["plain"]["seconds"] / values["seconds"]
    print(json.dumps({"gpu": name, "samples": samples, "epochs": EPOCHS, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
