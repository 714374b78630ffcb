"""How fast a run goes: ``steps_per_execution``, chosen from measured or estimated step times."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from kreg.training.placement import Placement

TARGET_SECONDS_PER_EXECUTION = 0.25
"""``--steps-per-execution auto`` aims at one execution per this many seconds (live view rate)."""


def samples_in(x: Any) -> int | None:
    """How many samples ``x`` holds (arrays, lists, dicts of arrays), or None when unknown.

    Example:
        >>> import numpy as np
        >>> samples_in(np.zeros((10, 3))), samples_in({"a": np.zeros((4, 1))}), samples_in(None)
        (10, 4, None)
    """
    if x is None:
        return None
    if isinstance(x, Mapping):
        x = next(iter(x.values()), None)
    elif isinstance(x, (list, tuple)) and x and not np.isscalar(x[0]):
        first = x[0]
        x = first if hasattr(first, "shape") or isinstance(first, (list, tuple)) else x
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0]) if shape[0] is not None else None
    try:
        return len(x)
    except TypeError:
        return None


def steps_per_epoch(fit_args: Mapping[str, Any]) -> int | None:
    """Training steps in one epoch, or None when unknown (a dataset of unknown size).

    Example:
        >>> import numpy as np
        >>> steps_per_epoch({"x": np.zeros((100, 2)), "batch_size": 32, "validation_split": 0.2})
        3
    """
    x: Any = fit_args.get("x")
    if hasattr(x, "cardinality"):
        count = int(x.cardinality().numpy())
        return count if count > 0 else None
    samples = samples_in(x)
    if samples is None:
        return None
    samples = int(samples * (1 - fit_args.get("validation_split", 0.0) or 0.0))
    return max(1, math.ceil(samples / (fit_args.get("batch_size") or 32)))


def estimated_step_seconds(model: Any, batch_size: int, on_gpu: bool) -> float:
    """A rough training-step time from the model's size (FLOPs), used before any measurement.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> 0 < estimated_step_seconds(model, 32, on_gpu=False) < 0.01
        True
    """
    flops = 0.0
    for layer in model.layers if hasattr(model, "layers") else []:
        params = layer.count_params() if layer.built else 0
        try:
            shape = tuple(layer.output.shape)
        except Exception:
            shape = ()
        positions = math.prod(d for d in shape[1:-1] if d) if len(shape) > 2 else 1
        flops += 2.0 * params * positions
    per_step_overhead, throughput = (2e-5, 5e12) if on_gpu else (1e-4, 2e10)
    return per_step_overhead + 3.0 * flops * batch_size / throughput


def auto_steps_per_execution(
    model: Any, fit_args: Mapping[str, Any], on_gpu: bool
) -> tuple[int, str]:
    """Steps per execution that amortise per-step overhead while the live view stays responsive.

    Aims at one execution every :data:`TARGET_SECONDS_PER_EXECUTION` seconds, from
    the step time measured in the previous run of this model, else estimated
    from its size; never more than an epoch.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> auto_steps_per_execution(model, {"x": np.zeros((64, 8))}, on_gpu=False)[0]
        2
    """
    steps = steps_per_epoch(fit_args)
    batch_size = fit_args.get("batch_size") or 32
    measured = getattr(model, "_kreg_seconds_per_step", None)
    step_seconds = measured or estimated_step_seconds(model, batch_size, on_gpu)
    wanted = max(1, int(TARGET_SECONDS_PER_EXECUTION / max(step_seconds, 1e-7)))
    how = "measured" if measured else "estimated"
    if steps is not None and wanted >= steps:
        return steps, f"auto: one execution per epoch ({how} {step_seconds * 1e3:.2g} ms/step)"
    return wanted, (
        f"auto: ~{TARGET_SECONDS_PER_EXECUTION:g} s per execution ({how} "
        f"{step_seconds * 1e3:.2g} ms/step)"
    )


def choose_steps_per_execution(
    wanted: int | str, model: Any, fit_args: Mapping[str, Any] | None, placement: Placement
) -> tuple[int, str]:
    """``steps_per_execution`` and why: ``wanted`` (a number or ``"auto"``) under ``placement``.

    ``fit_args`` is None when nothing trains. Under a replicated strategy it is 1: Keras
    3.15's multi-step loop fails there ("You must feed a value for placeholder tensor
    'while/cond/Placeholder_1'").

    Example:
        >>> from kreg.training.placement import Placement
        >>> choose_steps_per_execution(8, None, {}, Placement(None, "mirrored", replicated=True))
        (1, "1 under mirrored: Keras's multi-step loop fails there")
    """
    if wanted == "auto":
        if fit_args is None:
            spe, reason = 1, "nothing to train"
        else:
            from kreg.kerasext.backend import gpu_names

            spe, reason = auto_steps_per_execution(model, fit_args, bool(gpu_names()))
    else:
        spe, reason = int(wanted), "--steps-per-execution"
    if spe > 1 and placement.backend == "torch":
        return 1, "1: Keras's PyTorch trainer runs one step per execution"
    if spe > 1 and placement.replicated:
        return 1, f"1 under {placement.name}: Keras's multi-step loop fails there"
    return spe, reason
