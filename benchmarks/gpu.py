"""The accelerator path: plain Keras against ``%%kcompile`` on JAX and PyTorch, one GPU.

Run on a machine with a GPU (no TensorFlow needed)::

    python benchmarks/gpu.py [--backends jax,torch] [--out benchmarks/RESULTS-gpu.md]

Each backend runs in its own subprocess with ``KERAS_BACKEND`` set (Keras fixes its backend
per process). There, a small MLP and a small CNN are trained from the same initial weights on
the same data, with the same seed, four ways: plain ``model.compile`` + ``fit`` with Keras's
defaults; ``%%kcompile`` defaults; ``%%kcompile --mixed-precision``; ``%%kcompile --jit``.
The cells run through a real IPython shell (``InteractiveShell``, ``%load_ext kreg``). A
callback times every epoch of the one ``fit`` call: the first epoch (tracing, compiling) is
the warm-up, reported apart; samples/s is measured over the later epochs, the same way for
every variant. The Markdown note has a table per backend, the device's name, the versions and
the targets, each marked met or not met. The exit code is 0 when targets are missed, 1 when a
run crashed (the note then shows the traceback).

``--quick`` uses tiny sizes and one timed epoch: a smoke test for CPU machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VARIANTS = (
    ("plain Keras", None),
    ("%%kcompile", ""),
    ("%%kcompile --mixed-precision", "--mixed-precision"),
    ("%%kcompile --jit", "--jit"),
)
"""(label, kcompile flags); ``None`` is plain ``compile`` + ``fit``."""

SIZES = {
    # workload: (samples, batch size, epochs: the first is the warm-up)
    "full": {"MLP": (20_480, 64, 4), "CNN": (8_192, 64, 4)},
    "quick": {"MLP": (512, 64, 2), "CNN": (128, 64, 2)},
}
TARGETS = (
    ("MLP", "%%kcompile", 3.0, "%%kcompile defaults >= 3x plain Keras on the MLP"),
    ("CNN", "%%kcompile", 1.0, "%%kcompile defaults never slower than plain Keras on the CNN"),
    ("CNN", "%%kcompile --mixed-precision", 1.5, "mixed precision >= 1.5x plain Keras on the CNN"),
)
LOSS_RTOL = 0.05
"""Final losses within 5% of plain Keras's count as close."""


def build(workload: str) -> Any:
    """The MLP (32 -> 64 relu -> 10) or the CNN (32x32x3, two convolutions, 10 classes)."""
    import keras

    layers = keras.layers
    if workload == "MLP":
        return keras.Sequential(
            [keras.Input((32,)), layers.Dense(64, activation="relu"), layers.Dense(10, "softmax")]
        )
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ]
    )


def data(workload: str, samples: int) -> tuple[Any, Any]:
    """Learnable float32 inputs and int32 labels (argmax of a fixed random projection)."""
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (samples, 32) if workload == "MLP" else (samples, 32, 32, 3)
    x = rng.normal(size=shape).astype("float32")
    features = x if workload == "MLP" else x.mean(axis=(1, 2))
    y = (features @ rng.normal(size=(features.shape[1], 10))).argmax(axis=1).astype("int32")
    return x, y


def epoch_timer() -> Any:
    """A Keras callback that records each epoch's wall time, synchronising on its loss."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.losses: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.losses.append(float((logs or {}).get("loss", float("nan"))))  # waits for it
            self.seconds.append(time.perf_counter() - self._started)

    return EpochTimer()


def device_name(backend: str) -> str:
    """The accelerator's name, or ``CPU`` when the backend sees none."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "CPU" if device.platform == "cpu" else str(device.device_kind)
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return backend


def versions(backend: str) -> dict[str, str]:
    """Python, Keras, the backend's library, NumPy, IPython and kreg."""
    from importlib import metadata

    names = ["keras", "numpy", "ipython", "kreg", "kreg-contrib"]
    names += ["jax", "jaxlib"] if backend == "jax" else ["torch"]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    found["tensorflow"] = "absent" if _find("tensorflow") is None else "installed"
    return found


def _find(module: str) -> Any:
    import importlib.util

    return importlib.util.find_spec(module)


def measure(backend: str, quick: bool, out: Path) -> None:
    """Train every workload every way in this process (``KERAS_BACKEND`` already set).

    The result is written to ``out`` as JSON after every variant, so that a run stopped by
    the parent's timeout still reports what it measured.
    """
    import keras
    from IPython.core.interactiveshell import InteractiveShell

    # A real shell; IPython.testing.globalipapp.start_ipython would need pytest (IPython 9).
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "kreg")
    from kreg.registry.catalog import CATALOG

    plugins = {info.name: info.status for info in CATALOG.plugins()}
    result: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "device": device_name(backend),
        "versions": versions(backend),
        "plugins": plugins,
        "workloads": {},
    }
    for workload, (samples, batch, epochs) in SIZES["quick" if quick else "full"].items():
        x, y = data(workload, samples)
        keras.utils.set_random_seed(0)
        initial = build(workload).get_weights()
        rows: list[dict[str, Any]] = []
        result["workloads"][workload] = {
            "samples": samples,
            "batch_size": batch,
            "epochs": epochs,
            "rows": rows,
        }
        for label, flags in VARIANTS:
            keras.utils.set_random_seed(0)
            model = build(workload)
            model.set_weights(initial)
            timer = epoch_timer()
            row: dict[str, Any] = {"variant": label}
            started = time.perf_counter()
            try:
                if flags is None:
                    model.compile(
                        loss="sparse_categorical_crossentropy",
                        optimizer="adam",
                        metrics=["accuracy"],
                    )
                    model.fit(x, y, epochs=epochs, batch_size=batch, callbacks=[timer], verbose=0)
                    row.update(
                        precision=model.dtype_policy.name,
                        jit=str(model.jit_compile),
                        steps_per_execution=1,
                    )
                else:
                    body = (
                        "loss = sparse_categorical_crossentropy\noptimizer = adam\n"
                        "metrics = [accuracy]\nx = x\ny = y\ncallbacks = [timer]\n"
                        f"epochs = {epochs}\nbatch_size = {batch}"
                    )
                    ip.user_ns.update(model=model, x=x, y=y, timer=timer)
                    ip.run_cell_magic("kcompile", f"model -o run --no-plot {flags}", body)
                    run = ip.user_ns["run"]
                    row.update(
                        precision=run.precision,
                        jit=str(run.jit_compile),
                        steps_per_execution=run.steps_per_execution,
                        run_samples_per_second=run.samples_per_second,
                    )
            except Exception:
                row["error"] = traceback.format_exc()
            row["call_seconds"] = time.perf_counter() - started
            if timer.seconds:
                timed = timer.seconds[1:] or timer.seconds
                row.update(
                    warmup_seconds=timer.seconds[0],
                    timed_seconds=sum(timed),
                    timed_epochs=len(timed),
                    samples_per_second=samples * len(timed) / sum(timed),
                    final_loss=timer.losses[-1],
                )
            rows.append(row)
            out.write_text(json.dumps(result))


def run_backend(backend: str, quick: bool, timeout: float) -> dict[str, Any]:
    """:func:`measure` in a subprocess with ``KERAS_BACKEND=backend``; its result or its error."""
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", backend, str(out)]
        command += ["--quick"] if quick else []
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
            log, failed = done.stdout + done.stderr, done.returncode != 0
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or b""
            output = output.decode(errors="replace") if isinstance(output, bytes) else output
            log, failed = f"{output}\ntimed out after {timeout:.0f} s", True
        seconds = time.perf_counter() - started
        result = json.loads(out.read_text()) if out.exists() else {"backend": backend}
    if failed:
        result["error"] = log[-4000:]
    result["seconds"] = seconds
    return result


def ratio(row: dict[str, Any], plain: dict[str, Any]) -> float | None:
    """``row``'s samples/s over plain Keras's (None when either did not train)."""
    if "samples_per_second" not in row or "samples_per_second" not in plain:
        return None
    return row["samples_per_second"] / plain["samples_per_second"]


def markdown(results: list[dict[str, Any]], quick: bool, argv: list[str]) -> str:
    """The note: a table per backend and workload, the targets, the versions."""
    devices = {r.get("device", "?") for r in results}
    kind = "CPU figures (not GPU)" if devices <= {"CPU", "?"} else "GPU figures"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## benchmarks/gpu.py{' --quick' if quick else ''}: {kind}, {stamp}",
        "",
        f"Command: `python benchmarks/gpu.py {' '.join(argv)}`",
        "",
        "samples/s is measured over the epochs after the first (the warm-up: tracing and "
        "compiling), the same way for every variant, by a callback in the one `fit` call; "
        "`call s` is the whole call (compile, kreg's preflight, every epoch).",
    ]
    for result in results:
        lines += ["", f"### KERAS_BACKEND={result['backend']}: {result.get('device', '?')}", ""]
        lines += backend_section(result)
    if quick:
        lines += ["", "(`--quick`: tiny sizes, one timed epoch; a smoke test, not a measurement.)"]
    return "\n".join(lines) + "\n"


def backend_section(result: dict[str, Any]) -> list[str]:
    """One backend's versions, a table per workload, its targets and its errors."""
    lines: list[str] = []
    if "versions" in result:
        versions_line = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        plugins = ", ".join(f"{k} ({v})" for k, v in result["plugins"].items()) or "none"
        lines += [f"Versions: {versions_line}. kreg plugins: {plugins}.", ""]
    errors: list[str] = []
    workloads = result.get("workloads", {})
    for workload, info in workloads.items():
        plain = info["rows"][0] if info["rows"] else {}
        lines += [
            f"**{workload}**: {info['samples']:,} samples, batch {info['batch_size']}, "
            f"{info['epochs']} epochs (1 warm-up)",
            "",
            "| variant | precision | compiled | steps/exec | warm-up s | call s "
            "| samples/s | × plain | final loss | loss close |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in info["rows"]:
            if "error" in row:
                errors.append(f"{workload}, {row['variant']}:\n{row['error'].rstrip()}")
            if "samples_per_second" not in row:
                lines.append(f"| {row['variant']} | crashed (below) |" + " |" * 8)
                continue
            r = ratio(row, plain)
            loss, base = row["final_loss"], plain.get("final_loss", float("nan"))
            close = abs(loss - base) <= LOSS_RTOL * abs(base)
            lines.append(
                f"| {row['variant']} | {row.get('precision', '?')} | {row.get('jit', '?')} "
                f"| {row.get('steps_per_execution', '?')} | {row['warmup_seconds']:.2f} "
                f"| {row['call_seconds']:.2f} | {row['samples_per_second']:,.0f} "
                f"| {'-' if r is None else f'{r:.2f}'} | {loss:.4f} "
                f"| {'yes' if close else 'no'} |"
            )
        lines.append("")
    lines += ["Targets:", ""]
    for workload, variant, wanted, text in TARGETS:
        rows = workloads.get(workload, {}).get("rows", [])
        row = next((r for r in rows if r["variant"] == variant), {})
        r = ratio(row, rows[0]) if rows else None
        state = "not measured" if r is None else "met" if r >= wanted else "not met"
        shown = "" if r is None else f" ({r:.2f}x)"
        lines.append(f"- {text}: **{state}**{shown}")
    for error in errors:
        lines += ["", "```", error, "```"]
    if "error" in result:
        lines += ["", "The backend's process failed:", "", "```", result["error"].rstrip(), "```"]
    return lines


def crashed(results: list[dict[str, Any]]) -> bool:
    """Whether a backend's subprocess or any variant failed."""
    for result in results:
        if "error" in result:
            return True
        for info in result.get("workloads", {}).values():
            if any("error" in row for row in info["rows"]):
                return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Parse the flags; run each backend in a subprocess; write the note; 1 if one crashed."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one timed epoch")
    parser.add_argument("--backends", default="jax,torch", help="comma-separated: jax,torch")
    parser.add_argument("--out", default=str(HERE / "RESULTS-gpu.md"), help="the Markdown note")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per backend")
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        backend, out = args.child
        measure(backend, args.quick, Path(out))
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"jax", "torch"}
    if unknown:
        parser.error(f"--backends: unknown {', '.join(sorted(unknown))} (use jax, torch)")
    timeout = args.timeout or (900.0 if args.quick else 270.0)
    results = []
    for backend in backends:
        print(f"[gpu.py] KERAS_BACKEND={backend} ...", file=sys.stderr, flush=True)
        result = run_backend(backend, args.quick, timeout)
        print(
            f"[gpu.py] {backend}: {result.get('device', '?')}, {result['seconds']:.0f} s"
            + (" (crashed)" if "error" in result else ""),
            file=sys.stderr,
            flush=True,
        )
        results.append(result)
        note = markdown(results, args.quick, argv)  # after each backend: a kill keeps some
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(note)
    print(note)
    return 1 if crashed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
