"""`make demo`: look components up by name, build them, and compile a tiny model."""

from __future__ import annotations

import sys
import time
import warnings

import kreg

started = time.perf_counter()
print(f"kreg {kreg.__version__}: {len(kreg.entries())} components registered")
for kind in ("loss", "metric", "optimizer", "schedule"):
    print(f"  {kind:<9} {len(kreg.entries(kind)):>3}")
print("TensorFlow imported so far:", "tensorflow" in sys.modules)

try:
    kreg.get("Possion")
except kreg.UnknownComponentError as error:
    print("kreg.get('Possion') ->", error)

loss = kreg.get("huber", delta=2.0)
print("kreg.get('huber', delta=2.0) ->", type(loss).__name__, loss.get_config()["delta"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    optimizer = kreg.get("sgd", lr=0.01, momentum=0.9)
print("kreg.get('sgd', lr=0.01, momentum=0.9) ->", type(optimizer).__name__, "|", caught[0].message)
schedule = kreg.get(
    "exponential_decay", initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.9
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
model = keras.Sequential(
    [keras.Input((8,)), keras.layers.Dense(16, "relu"), keras.layers.Dense(1, "sigmoid")]
)
model.compile(
    loss=kreg.get("binary_crossentropy", kind="loss"),
    optimizer=kreg.get("adam", learning_rate=schedule),
    metrics=[kreg.get("acc"), kreg.get("auc")],
)
history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
print("trained 3 epochs:", {k: round(v[-1], 3) for k, v in history.history.items()})
print(f"done in {time.perf_counter() - started:.1f} s")
