"""%%kcompile against plain Keras, and the live view against its peers, in one process.

benchmarks/run.py runs this inside a real Jupyter kernel (``%run``), where users
run it: plain Keras's default progress bar and every live view publish to the
notebook as they would there. Prints one JSON object (medians over repeats).
Every variant trains the same model from the same initial weights on the same
data with the same shuffling seed, so final losses must agree.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras
import numpy as np
from IPython.core.interactiveshell import InteractiveShell

SAMPLES, FEATURES, EPOCHS, BATCH = 32_000, 16, 3, 32
CNN_EPOCHS = 5  # compute-dominated: fixed costs (tracing, the final plot) are a small share
VIEW_EPOCHS = 10  # the live-view rows: long enough that a few redraws happen
ROUNDS = 9  # live-view rows: interleaved rounds (one run varies by +-15% on 2 shared cores)


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.1 * rng.normal(size=(SAMPLES, 1))).astype("float32")
    return x, y


def mlp() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
    )


def cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1),
        ]
    )


def plain(build, x, y, epochs: int = EPOCHS) -> tuple[float, float]:
    """Keras defaults: compile(loss, optimizer) and fit() with its default progress bar."""
    model = build()
    model.compile(loss="mse", optimizer="adam")
    keras.utils.set_random_seed(1)
    started = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=BATCH)
    return time.perf_counter() - started, history.history["loss"][-1]


def kcompile(shell, build, x, y, epochs: int = EPOCHS, flags: str = "") -> tuple[float, float]:
    shell.user_ns.update(model=build(), x_train=x, y_train=y)
    keras.utils.set_random_seed(1)
    started = time.perf_counter()
    shell.run_cell_magic(  # its output goes to the notebook, as the plain runs' does
        "kcompile",
        f"model -o run {flags}",
        f"loss = mse\noptimizer = adam\nx = x_train\ny = y_train\nepochs = {epochs}\n"
        f"batch_size = {BATCH}",
    )
    return time.perf_counter() - started, shell.user_ns["run"].history["loss"][-1]


def with_view(build, x, y, plot: bool) -> tuple[float, float]:
    """%%kcompile's own settings and path (run_cell), with the notebook's live view."""
    from kreg.training.options import RunOptions
    from kreg.training.runner import plan_cell, run_cell
    from kreg.ui.notebook.runner import notebook_view

    model = build()
    namespace = {"x_train": x, "y_train": y}
    cell = "loss = mse\noptimizer = adam\nx = x_train\ny = y_train\n"
    body = cell + f"epochs = {VIEW_EPOCHS}\nbatch_size = {BATCH}"
    plan = plan_cell(body, model, namespace, RunOptions(strategy="default"))
    keras.utils.set_random_seed(1)
    started = time.perf_counter()
    run = run_cell(plan, model, make_view=notebook_view(plot))
    wall = time.perf_counter() - started
    if plot:
        VIEW_COSTS.append((run.view.draw_seconds, run.view.render_seconds, run.view.redraws))
    return wall, run.history["loss"][-1]


VIEW_COSTS: list[tuple[float, float, int]] = []
"""(training-thread seconds, render seconds, redraws) of each live-plot run."""


def median(results: list[tuple[float, float]]) -> dict[str, float]:
    times = [t for t, _ in results]
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "loss": results[-1][1],
    }


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kreg")  # run.py measures it in the kernel's first cell
    x, y = data()
    rng = np.random.default_rng(1)
    images = rng.normal(size=(2048, 16, 16, 3)).astype("float32")
    targets = images.mean(axis=(1, 2, 3))[:, None].astype("float32")
    plain(mlp, x[:64], y[:64])  # warm up TensorFlow once
    results: dict[str, dict[str, float]] = {}
    runs = {
        "mlp_plain": lambda: plain(mlp, x, y),
        "mlp_kcompile": lambda: kcompile(shell, mlp, x, y),
        "cnn_plain": lambda: plain(cnn, images, targets, CNN_EPOCHS),
        "cnn_kcompile": lambda: kcompile(shell, cnn, images, targets, CNN_EPOCHS),
    }
    from livelossplot import PlotLossesKeras
    from tqdm.keras import TqdmCallback

    def peer(callback_factory):
        def run() -> tuple[float, float]:
            model = mlp()
            model.compile(loss="mse", optimizer="adam", steps_per_execution=SAMPLES // BATCH)
            keras.utils.set_random_seed(1)
            begun = time.perf_counter()
            history = model.fit(
                x, y, epochs=VIEW_EPOCHS, batch_size=BATCH, verbose=0, callbacks=callback_factory()
            )
            return time.perf_counter() - begun, history.history["loss"][-1]

        return run

    for name, run in runs.items():
        results[name] = median([run() for _ in range(repeat)])
    # The live views: interleaved rounds, each variant's time divided by its anchor's in the
    # same round, so that the machine's drift cancels out of the overhead figures.
    views = {
        "view_off": lambda: with_view(mlp, x, y, plot=False),
        "view_on": lambda: with_view(mlp, x, y, plot=True),
        "peer_none": peer(lambda: []),
        "peer_livelossplot": peer(lambda: [PlotLossesKeras()]),
        "peer_tqdm": peer(lambda: [TqdmCallback(verbose=1)]),
    }
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in views}
    for index in range(ROUNDS):
        order = list(views) if index % 2 == 0 else list(reversed(views))  # cancels drift
        for name in order:
            rounds[name].append(views[name]())
    for name, anchor in (
        ("view_on", "view_off"),
        ("peer_livelossplot", "peer_none"),
        ("peer_tqdm", "peer_none"),
    ):
        ratios = [t / a for (t, _), (a, _) in zip(rounds[name], rounds[anchor])]
        results[name] = {**median(rounds[name]), "ratio": statistics.median(ratios)}
    for name in ("view_off", "peer_none"):
        results[name] = median(rounds[name])
    results["view_costs"] = {
        "training_thread": statistics.median(c[0] for c in VIEW_COSTS),
        "render": statistics.median(c[1] for c in VIEW_COSTS),
        "redraws": statistics.median(c[2] for c in VIEW_COSTS),
    }
    print("KREG-BENCH " + json.dumps(results))


if __name__ == "__main__":
    main()
