"""`make bench`: each figure as a ratio against its anchor, measured in the same run.

Writes benchmarks/RESULTS.md. Medians of repeated runs, with min-max.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
sys.path.insert(0, str(ROOT))  # notebooks/headless.py is a tool of this checkout, not of kreg


def wall(
    argv: list[str], repeat: int, env: dict[str, str] | None = None, codes: tuple[int, ...] = (0,)
) -> list[float]:
    """Wall-clock seconds of a whole command, ``repeat`` times; it must exit with ``codes``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env or ENV, capture_output=True, cwd=ROOT, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode not in codes:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return times


def import_time(module: str, repeat: int) -> list[float]:
    """Seconds spent importing ``module`` in a fresh interpreter (startup excluded)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=ENV, check=True, capture_output=True, text=True
            ).stdout.split()[-1]
        )
        for _ in range(repeat)
    ]


def per_call(statement: str, setup: str, repeat: int = 7, number: int = 20000) -> list[float]:
    """Microseconds per call of ``statement``."""
    timer = timeit.Timer(statement, setup=setup)
    return [t / number * 1e6 for t in timer.repeat(repeat=repeat, number=number)]


def in_kernel(script: Path, *arguments: str) -> dict:
    """Run ``script`` with ``%run`` in a real Jupyter kernel; return its KREG-BENCH JSON."""
    import tempfile

    import nbformat

    from notebooks.headless import execute_notebook

    notebook = nbformat.v4.new_notebook()
    load_ext = (  # the first cell of a fresh kernel, before anything imported TensorFlow
        "import time\nstarted = time.perf_counter()\n"
        "get_ipython().run_line_magic('load_ext', 'kreg')\n"
        "print('KREG-LOADEXT', time.perf_counter() - started)"
    )
    notebook.cells = [
        nbformat.v4.new_code_cell(load_ext),
        nbformat.v4.new_code_cell(f"%run {script} {' '.join(arguments)}"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.ipynb"
        nbformat.write(notebook, str(path))
        executed, _ = execute_notebook(path, timeout=900, workdir=Path(folder))
    text = "".join(
        output.get("text", "")
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    line = next(x for x in reversed(text.splitlines()) if x.startswith("KREG-BENCH "))
    results = json.loads(line.removeprefix("KREG-BENCH "))
    loaded = next(x for x in text.splitlines() if x.startswith("KREG-LOADEXT "))
    results["load_ext_seconds"] = {"median": float(loaded.split()[1])}
    return results


def count_entries(env: dict[str, str]) -> int:
    """How many entries the registry has in a fresh interpreter with ``env``."""
    code = "import kreg; print(len(kreg.entries()))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1])


def script_json(script: str, *arguments: str) -> dict:
    """Run ``benchmarks/<script>`` in a fresh interpreter and parse the JSON it prints."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *arguments],
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def summary(values: list[float]) -> tuple[float, str]:
    return statistics.median(values), f"{min(values):.4g}-{max(values):.4g}"


GAPS = """## Gaps and their measured causes

- `%%kcompile` small MLP, target 5x, not met: kreg already runs one execution per
  epoch (`steps_per_execution` 1,000, the ceiling the target was derived from) and its
  own work (parsing, resolving, the live view) costs a few ms. What remains is Keras's,
  measured with per-epoch timers and cProfile: the first epoch costs ~0.55-0.7 s, of
  which ~0.45 s is tracing the train step into a graph (~800 ops: model, loss, Adam,
  metrics; plain Keras pays the same trace) and ~0.1-0.2 s TensorFlow's graph optimizer
  on the first call; each later epoch of 1,000 steps costs ~0.145 s, of which iterating
  Keras's tf.data pipeline for in-memory arrays inside a graph alone takes ~0.058 s.
  So 3 epochs cannot go below ~0.45 + 0.1 + 3 x 0.145 = ~1.0 s, minus noise, against a
  plain-Keras anchor of ~2.8-3.1 s in a kernel here: 5x would need ~0.6 s. (The 6.6x in
  the issue was measured against a 5.4 s anchor.) Tried and rejected: XLA (`jit_compile`:
  tracing 1.9 s on CPU), `unrolled_steps_per_execution=4` (steps 0.46 s but tracing
  1.4 s), one TensorFlow thread (steps 0.52 s, but it must be set before TensorFlow
  starts, so not from a notebook cell), disabling TensorFlow's graph optimizer (saves
  ~0.1 s here, identical losses, but it is global and gives up fused kernels that
  matter on GPUs). A different input pipeline would change the shuffling order and so
  the results, which must equal plain Keras's.
- Live plot, target < 3%, not reliably met on this machine. Fixed since the last
  session: each 3-panel render took ~73 ms on this CPU (cProfile: ~70% drawing axes,
  ticks and text), and even on a worker thread, with the final render on the training
  thread, four runs measured +0.8%, +6.3%, +15% and +23%. The figure now keeps a cached
  background (axes, ticks, labels, titles) and each render restores it and draws only the
  lines and the legend (Agg blitting), redrawing the background only when a panel's limits
  or legend change: the y limits are rounded out to tick values and start at 0 for a
  falling loss, the legend always lists batches and epochs, and the first mid-run render
  waits until a series has two points (one point gives degenerate limits); titles and
  axis labels have fixed positions (matplotlib's automatic ones measure every tick label).
  PNG encoding uses zlib level 1. A 10-epoch synthetic run with 40 renders now has a
  median render of ~15 ms, and in the benchmark's run the final render on the training
  thread is a ~7 ms blit. Five `make bench` runs since: -2.4%, +8.7%, +3.2%, +6.1%,
  +1.0% (the table above is the last).
  What is left is a fixed cost against a 2.2 s run: drawing the figure once (~50 ms of
  matplotlib text layout and glyph rendering, on the worker thread, taking one of the
  2 cores TensorFlow uses) plus ~28 ms on the training thread (the progress line at
  4 updates a second, publishing, the final blit): ~3.5-4.5% of this run, less on longer
  ones, inside a run-to-run noise of +-15%.
- `kreg check --all` took ~29 s: optimizers tried the default learning rate first
  (0.001: 60 wasted steps for most), and everything ran in one process. Now 0.1
  is tried first (the example's rate when it sets one) and `--all` spreads the
  entries over up to 4 processes (2 here; each imports TensorFlow once).
- `%load_ext kreg` is ~13 ms in a fresh kernel. If Keras was imported first,
  `import kreg` itself does the Keras-side registration (plugin classes, the
  get_config repair of built-ins): ~0.13 s more, once.
"""


def main() -> None:
    rows = []

    kreg_import, keras_import = import_time("kreg", 9), import_time("keras", 5)
    (k, k_range), (a, a_range) = summary(kreg_import), summary(keras_import)
    rows.append(
        ("`import kreg` (s)", k, k_range, "`import keras`", a, a_range, k / a, "< 2%", k / a < 0.02)
    )

    listing = wall([sys.executable, "-m", "kreg", "list"], 7)
    keras_cmd = wall([sys.executable, "-c", "import keras"], 5)
    (k, k_range), (a, a_range) = summary(listing), summary(keras_cmd)
    rows.append(
        (
            "`kreg list` wall (s)",
            k,
            k_range,
            '`python -c "import keras"`',
            a,
            a_range,
            k / a,
            "< 10%",
            k / a < 0.10,
        )
    )

    setup = "import kreg, keras; kreg.get('huber')"
    ours = per_call("kreg.get('huber')", setup)
    theirs = per_call("keras.losses.Huber()", setup)
    (k, k_range), (a, a_range) = summary(ours), summary(theirs)
    rows.append(
        (
            "warm `kreg.get('huber')` (us)",
            k,
            k_range,
            "`keras.losses.Huber()`",
            a,
            a_range,
            k / a,
            "adds < 2 us",
            k - a < 2.0,
        )
    )
    overhead = [o - t for o, t in zip(sorted(ours), sorted(theirs))]

    found = script_json("discovery.py", "5")
    none = found["0"]["median"]
    for count in ("50", "100", "200"):
        added = found[count]["median"] - none
        rows.append(
            (
                f"plugin discovery, {count} entry-point plugins (s)",
                found[count]["median"],
                f"{found[count]['min']:.4g}-{found[count]['max']:.4g}",
                "no extra plugins",
                none,
                f"{found['0']['min']:.4g}-{found['0']['max']:.4g}",
                found[count]["median"] / none,
                "200: adds < 150 ms" if count == "200" else f"adds {added * 1000:.0f} ms",
                added < 0.150 if count == "200" else True,
            )
        )
    lookups = script_json("lookups.py", "7")
    for label in ("uncached", "cached"):
        big, small = lookups["10000"][label], lookups["100"][label]
        rows.append(
            (
                f"{label} lookup, registry of 10,000 entries (us)",
                big,
                "-",
                "registry of 100 entries",
                small,
                "-",
                big / small,
                "flat (ratio ~1)",
                big / small < 1.25,
            )
        )

    # Built-ins and kreg-contrib: every entry must pass.
    own = {**ENV, "KREG_PLUGINS": "contrib"}
    checking = wall([sys.executable, "-m", "kreg", "check", "--all"], 2, own)
    (k, k_range) = summary(checking)
    entries = count_entries(own)
    rows.append(
        (
            f"`kreg check --all` wall, built-ins + contrib, {entries} entries (s)",
            k,
            k_range,
            "-",
            float("nan"),
            "-",
            float("nan"),
            "< 20 s (issue 6; < 60 s issue 3)",
            k < 20,
        )
    )

    # With the bridges make test installs: their libraries' real defects fail (exit 1).
    bridged = wall([sys.executable, "-m", "kreg", "check", "--all"], 2, codes=(0, 1))
    (b, b_range) = summary(bridged)
    rows.append(
        (
            f"`kreg check --all` wall, with the CI bridges, {count_entries(ENV)} entries (s)",
            b,
            b_range,
            "-",
            float("nan"),
            "-",
            float("nan"),
            "< 60 s (issue 14)",
            b < 60,
        )
    )

    checked = script_json("preflight.py")
    for key, what in (("ids", "integer ids (n,)"), ("one_hot", "one-hot rows (n, 10)")):
        rows.append(
            (
                f"`kreg.preflight`, 1,000,000-row y of {what} (s)",
                checked[key]["median"],
                f"{checked[key]['min']:.3g}-{checked[key]['max']:.3g}",
                "-",
                float("nan"),
                "-",
                float("nan"),
                "< 50 ms (issue 15)",
                checked[key]["median"] < 0.05,
            )
        )

    kc = in_kernel(HERE / "kcompile.py", "3")

    def timing(name: str) -> tuple[float, str]:
        return kc[name]["median"], f"{kc[name]['min']:.3g}-{kc[name]['max']:.3g}"

    (k, k_range), (a, a_range) = timing("mlp_kcompile"), timing("mlp_plain")
    same = abs(kc["mlp_kcompile"]["loss"] - kc["mlp_plain"]["loss"]) <= 1e-6 * max(
        1.0, abs(kc["mlp_plain"]["loss"])
    )
    rows.append(
        (
            "`%%kcompile` default training, small MLP, 3 epochs x 1,000 steps (s)",
            k,
            k_range,
            "plain `compile`+`fit`, Keras defaults",
            a,
            a_range,
            a / k,
            ">= 5x faster, equal final loss",
            a / k >= 5 and same,
        )
    )
    (k, k_range), (a, a_range) = timing("cnn_kcompile"), timing("cnn_plain")
    rows.append(
        (
            "`%%kcompile` default training, small CNN, 5 epochs (s)",
            k,
            k_range,
            "plain `compile`+`fit`, Keras defaults",
            a,
            a_range,
            a / k,
            "never slower (>= 0.98)",
            a / k >= 0.98,
        )
    )
    base = kc["view_off"]["median"]
    view = kc["view_on"]["ratio"] - 1
    peer_base = kc["peer_none"]["median"]
    livelossplot = kc["peer_livelossplot"]["ratio"] - 1
    tqdm_overhead = kc["peer_tqdm"]["ratio"] - 1
    for name, key, extra, anchor, anchor_time in (
        ("live plot on, 10 epochs (s)", "view_on", view, "`--no-plot`", base),
        (
            "livelossplot `PlotLossesKeras` (s)",
            "peer_livelossplot",
            livelossplot,
            "no callback",
            peer_base,
        ),
        ("tqdm `TqdmCallback` (s)", "peer_tqdm", tqdm_overhead, "no callback", peer_base),
    ):
        ours = key == "view_on"
        met = extra < 0.03 and extra < min(livelossplot, tqdm_overhead) if ours else True
        target = "< 3% and below both peers" if ours else "(peer)"
        measured = kc[key]["median"]
        rows.append((name, measured, "-", anchor, anchor_time, "-", 1 + extra, target, met))
    compared = in_kernel(HERE / "compare.py", "5")

    def compare_timing(name: str) -> tuple[float, str]:
        value = compared[name]
        return value["median"], f"{value['min']:.3g}-{value['max']:.3g}"

    (k, k_range), (a, a_range) = compare_timing("plot"), compare_timing("no_plot")
    rows.append(
        (
            "`compare(...)`, 4 runs x 10 epochs, live figure on (s)",
            k,
            k_range,
            "the same cell with `--no-plot`",
            a,
            a_range,
            compared["plot_ratio"],
            "< 3% (issue 18)",
            compared["plot_ratio"] < 1.03,
        )
    )
    (k, k_range), (a, a_range) = compare_timing("compare"), compare_timing("separate")
    rows.append(
        (
            "`compare(...)`, 4 runs in one cell, total (s)",
            k,
            k_range,
            "4 `%%kcompile` cells, each on a fresh copy",
            a,
            a_range,
            compared["separate_ratio"],
            "not slower (>= 0.98)",
            compared["separate_ratio"] >= 0.98,
        )
    )
    rows.append(
        (
            "`%load_ext kreg`, first cell of a fresh kernel (s)",
            kc["load_ext_seconds"]["median"],
            "-",
            "-",
            float("nan"),
            "-",
            float("nan"),
            "< 0.2 s",
            kc["load_ext_seconds"]["median"] < 0.2,
        )
    )

    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}.",
        f"Versions: kreg {__import__('kreg').__version__}, keras "
        f"{__import__('importlib.metadata').metadata.version('keras')}, tensorflow "
        f"{__import__('importlib.metadata').metadata.version('tensorflow')}.",
        "",
        "| figure | median | min-max | anchor | anchor median | anchor min-max | ratio "
        "| target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, k, k_range, anchor, a, a_range, ratio, target, met in rows:
        lines.append(
            f"| {name} | {k:.4g} | {k_range} | {anchor} | {a:.4g} | {a_range} | "
            f"{ratio:.3f} | {target} | {'yes' if met else 'NO'} |"
        )
    lines += [
        "",
        f"Name resolution overhead of warm `kreg.get('huber')` over direct construction: "
        f"median {statistics.median(overhead):.3f} us per call.",
        "",
        "Notes: `import kreg` excludes interpreter start-up; `kreg list` and `import keras` "
        "wall times include it (both start a fresh interpreter). The warm `get` figure is "
        "per call over 20,000 calls, 7 repeats, in one process. `kreg check --all` rows include "
        "interpreter start-up and the TensorFlow import; the first covers the built-ins and "
        "kreg-contrib (`KREG_PLUGINS=contrib`) and stops the benchmark on any failure; the "
        "second adds the bridges `make test` installs (keras-rs, extra-keras-metrics, "
        "keras-proba), whose libraries' real defects fail checks (exit 1 expected). "
        "Plugin discovery: `kreg.reload()` in a fresh interpreter with N generated "
        "installed-looking plugin distributions (dist-info + entry point + hook module) on the "
        "path, 5 runs each. Lookups: `Index.resolve` of 100 random names, cache cleared "
        "before each (uncached) or not (cached).",
        "",
        "GPU: `benchmarks/gpu.py` (plain Keras vs `%%kcompile` defaults, `--mixed-precision`, "
        "`--jit`, on the JAX and PyTorch backends, samples/s and ratios, with the card's name) "
        "runs on the lent GPU machine, whose image has JAX and PyTorch but no TensorFlow; "
        "`tools/gpu_carry.sh` gathers the wheels it lacks. Its figures, or the statement that "
        "they are not measured yet, are in `benchmarks/RESULTS-gpu.md`; it is not part of "
        "`make bench` on this CPU machine.",
        "",
        "`%%kcompile` rows run in a real Jupyter kernel (nbclient, `%run benchmarks/kcompile.py`), "
        "3 repeats each (the live-view rows: 9 interleaved rounds, the order reversed every other "
        "round, overhead = median of the per-round ratios), every variant from the same initial "
        "weights, data and shuffling seed; "
        f"final losses: `%%kcompile` {kc['mlp_kcompile']['loss']:.8g}, plain Keras "
        f"{kc['mlp_plain']['loss']:.8g}. Overhead rows: ratio = with / without. The peers run "
        "with the same `steps_per_execution` as `%%kcompile` so that only the view differs.",
        "",
        "The live view's own cost in the live-plot runs (medians, measured inside kreg): "
        f"{kc['view_costs']['training_thread'] * 1000:.0f} ms on the training thread (progress "
        f"line, publishing, the final render), {kc['view_costs']['render'] * 1000:.0f} ms of "
        f"rendering in all ({kc['view_costs']['redraws']:.0f} renders, the mid-run ones on a "
        "worker thread while TensorFlow trains), against a run of "
        f"{kc['view_on']['median']:.2f} s. Single wall-time ratios vary by +-15% on these "
        "2 shared cores, so the overhead row is a median over the interleaved rounds.",
        "",
        "`compare(...)` rows (`%run benchmarks/compare.py` in a real kernel): 4 optimizers x "
        f"10 epochs, {compared['rounds']} interleaved rounds, ratio = median of the per-round "
        "ratios. The comparison's figure, measured inside kreg (drawing on its worker thread "
        f"and publishing): {compared['drawing']['share'] * 100:.1f}% of the plotted cells' "
        f"time, {compared['drawing']['redraws']:.1f} redraws per cell. The four separate cells "
        "each make a fresh copy of the model from the same weights first, as a fair try by hand "
        "would.",
    ]
    lines += ["", GAPS]
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
