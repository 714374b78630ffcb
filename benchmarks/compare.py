"""compare(...) in %%kcompile: the live figure's cost, and one cell against four.

benchmarks/run.py runs this inside a real Jupyter kernel (``%run``), where the figure is
published as in a notebook. Prints one JSON line ``KREG-BENCH {...}`` with, per variant,
the median, min and max wall time over interleaved rounds:

- ``plot`` / ``no_plot``: a 4-run comparison cell with its live figure, and with
  ``--no-plot`` (the same runs, the progress line only), and ``plot_ratio``, the median
  of the rounds' ratios;
- ``compare`` / ``separate``: the same 4-run comparison cell, and the same four
  configurations as four ``%%kcompile`` cells, each on a fresh copy of the model made
  from the same weights (the hand work a comparison saves), both with their plots, and
  ``separate_ratio``, the median of the rounds' ratios;
- ``drawing``: the figure's own share of the plotted cells' time, measured inside kreg
  (drawing on the worker thread and publishing), and the redraws per cell.
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

SAMPLES, FEATURES, EPOCHS, BATCH = 16_000, 16, 10, 32
OPTIMIZERS = ("adam", "sgd(momentum=0.9)", "rmsprop", "adamw")
CELL = """loss = mse
optimizer = {optimizer}
metrics = [mae]
x = x
y = y
epochs = {epochs}
batch_size = {batch}
validation_split = 0.2"""


def setup(shell) -> None:
    """Data and a model in the kernel's namespace."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.1 * rng.normal(size=(SAMPLES, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
    )
    shell.user_ns.update(x=x, y=y, model=model, start=model.get_weights())


def body(optimizer: str) -> str:
    return CELL.format(optimizer=optimizer, epochs=EPOCHS, batch=BATCH)


GC = {"started": 0.0, "seconds": 0.0, "full": 0}  # full collections during the timed call


def _watch_gc(phase: str, info: dict) -> None:
    if info["generation"] != 2:
        return
    if phase == "start":
        GC["started"] = time.perf_counter()
    else:
        GC["seconds"] += time.perf_counter() - GC["started"]
        GC["full"] += 1


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


COLLECTED: dict[str, list[tuple[float, int]]] = {"plot": [], "no_plot": []}


DRAWN: list[tuple[float, int, float]] = []  # (seconds drawing, redraws, cell seconds)


def comparison(shell, flags: str = "") -> float:
    import kreg

    alternatives = f"compare({', '.join(OPTIMIZERS)})"
    GC.update(seconds=0.0, full=0)
    took = timed(lambda: shell.run_cell_magic("kcompile", f"model {flags}", body(alternatives)))
    COLLECTED["no_plot" if "--no-plot" in flags else "plot"].append((GC["seconds"], GC["full"]))
    if "--no-plot" not in flags:
        view = kreg.last_run.view
        DRAWN.append((view.draw_seconds, view.redraws, took))
    return took


def separate(shell) -> float:
    def four_cells() -> None:
        for optimizer in OPTIMIZERS:
            fresh = keras.models.clone_model(shell.user_ns["model"])
            fresh.set_weights(shell.user_ns["start"])
            keras.utils.set_random_seed(0)
            shell.user_ns["fresh"] = fresh
            shell.run_cell_magic("kcompile", "fresh", body(optimizer))

    return timed(four_cells)


def main(rounds: int) -> None:
    import gc

    gc.callbacks.append(_watch_gc)
    shell = InteractiveShell.instance()
    setup(shell)
    comparison(shell)  # warm-up: the first trace of every optimizer, matplotlib's import
    times: dict[str, list[float]] = {"plot": [], "no_plot": [], "compare": [], "separate": []}
    for index in range(rounds):
        order = [("plot", ""), ("no_plot", "--no-plot")]
        for name, flags in order if index % 2 == 0 else order[::-1]:
            times[name].append(comparison(shell, flags))
        if index % 2 == 0:
            times["separate"].append(separate(shell))
            times["compare"].append(comparison(shell))
        else:
            times["compare"].append(comparison(shell))
            times["separate"].append(separate(shell))
    result = {
        name: {"median": statistics.median(values), "min": min(values), "max": max(values)}
        for name, values in times.items()
    }
    drawing, redraws, cells = (sum(values) for values in zip(*DRAWN[1:]))  # after the warm-up
    result["drawing"] = {"share": drawing / cells, "redraws": redraws / len(DRAWN[1:])}
    # Per-round ratios (the two of a round ran back to back), then their median: single
    # wall times vary by +-10% on 2 shared cores, more than the effect measured.
    result["plot_ratio"] = statistics.median(a / b for a, b in zip(times["plot"], times["no_plot"]))
    result["separate_ratio"] = statistics.median(
        a / b for a, b in zip(times["separate"], times["compare"])
    )
    result["full_gc"] = {  # Python's full collections during the cells (TF: ~0.16 s each)
        name: {
            "seconds": statistics.median(s for s, _ in values[1:] or values),
            "count": statistics.median(c for _, c in values[1:] or values),
        }
        for name, values in COLLECTED.items()
    }
    result["runs"] = len(OPTIMIZERS)
    result["rounds"] = rounds
    print("KREG-BENCH " + json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
