"""The seven compile mistakes of issue 15, through ``%%kcompile`` with and without preflight.

A 2-layer MLP, 512 samples, 3 epochs each, in a real IPython shell. For each mistake it
prints what happens with ``--no-preflight`` (Keras alone: trains badly, or fails after
starting) and what kreg's preflight says before anything touches the model.

Run it with ``.venv/bin/python examples/preflight_mistakes.py``.
"""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

MISTAKES = [
    (
        "softmax output + sparse_categorical_crossentropy(from_logits=True)",
        (3, "softmax"),
        "ids",
        "loss = sparse_categorical_crossentropy(from_logits=True)\nmetrics = [accuracy]",
    ),
    (
        "integer labels + categorical_crossentropy",
        (3, "softmax"),
        "ids",
        "loss = categorical_crossentropy\nmetrics = [accuracy]",
    ),
    (
        "one-hot labels + sparse_categorical_crossentropy",
        (3, "softmax"),
        "one_hot",
        "loss = sparse_categorical_crossentropy\nmetrics = [accuracy]",
    ),
    (
        "binary labels + Dense(1, activation='softmax')",
        (1, "softmax"),
        "binary",
        "loss = binary_crossentropy\nmetrics = [accuracy]",
    ),
    ("regression targets (~50) + metrics = [acc]", (1, None), "real", "loss = mse\nmetrics=[acc]"),
    ("regression targets (~50) + sigmoid output + mse", (1, "sigmoid"), "real", "loss = mse"),
    ("linear output + binary_crossentropy", (1, None), "binary", "loss = binary_crossentropy"),
]


def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    ids = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")  # learnable, 3 classes
    return {
        "x": x,
        "ids": ids,
        "one_hot": np.eye(3, dtype="float32")[ids],
        "binary": (x[:, 0] > 0).astype("float32"),
        "real": (50 + 10 * x[:, 0] + rng.normal(size=512)).astype("float32"),
    }


def cell(body: str, target: str) -> str:
    return f"{body}\noptimizer = adam\nx = x\ny = {target}\nepochs = 3\nbatch_size = 32"


def main() -> None:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kreg")
    shell.user_ns.update(data())
    for title, (units, activation), target, body in MISTAKES:
        print(f"## {title}")
        for flags in ("--no-preflight", ""):
            keras.utils.set_random_seed(0)
            shell.user_ns["model"] = keras.Sequential(
                [
                    keras.Input((8,)),
                    keras.layers.Dense(16, activation="relu"),
                    keras.layers.Dense(units, activation=activation),
                ]
            )
            said = io.StringIO()
            try:
                with contextlib.redirect_stdout(said):
                    shell.run_cell_magic(
                        "kcompile", f"model -o run --no-plot {flags}", cell(body, target)
                    )
                run = shell.user_ns["run"]
                final = {k: round(v[-1], 4) for k, v in run.history.items()}
                findings = [f"{f.severity} {f.code}" for f in run.findings]
                outcome = f"trained 3 epochs: {final}" + (f"; {findings}" if findings else "")
            except UsageError as error:
                outcome = "stopped: " + str(error).replace("\n", " | ")[:400]
            print(f"- {'without preflight' if flags else 'with preflight'}: {outcome}")
        print()


if __name__ == "__main__":
    main()
