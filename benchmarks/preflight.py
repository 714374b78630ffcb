"""``kreg.preflight`` on a 1,000,000-row ``y``: it reads a bounded sample, so it stays fast.

Two targets of 1,000,000 rows: integer ids ``(n,)`` and one-hot rows ``(n, 10)``, with
a softmax model and ``sparse_categorical_crossentropy`` / ``categorical_crossentropy``
plus accuracy. One warm-up call (catalogue lookups, first imports), then 7 timed calls
each. Prints JSON, seconds.
"""

from __future__ import annotations

import json
import statistics
import time

import keras
import numpy as np

import kreg


def timed(model: object, repeat: int = 7, **kwargs: object) -> list[float]:
    kreg.preflight(model, **kwargs)  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        report = kreg.preflight(model, **kwargs)
        times.append(time.perf_counter() - started)
    assert not report.errors, report  # a correct configuration: the whole path runs
    return times


def main() -> None:
    rows = 1_000_000
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10, activation="softmax")])
    ids = rng.integers(0, 10, rows)
    one_hot = np.eye(10, dtype="float32")[ids]
    results = {}
    for name, loss, y in (
        ("ids", "sparse_categorical_crossentropy", ids),
        ("one_hot", "categorical_crossentropy", one_hot),
    ):
        times = timed(model, loss=loss, metrics=["accuracy"], y=y)
        results[name] = {
            "median": statistics.median(times),
            "min": min(times),
            "max": max(times),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
