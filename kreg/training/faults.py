"""What a fault in training means, in words: where, the cause, what was kept, the fix."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from kreg.training.guard import FaultGuard
from kreg.training.speed import samples_in


def failing_callback(error: BaseException, callbacks: list[Any]) -> tuple[Any, str] | None:
    """The user callback (and its hook) in whose code ``error`` was raised, if any.

    Example:
        >>> failing_callback(ValueError("no traceback"), [])
    """
    tb = error.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and any(owner is callback for callback in callbacks):
            return owner, tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return None


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an out-of-memory error, on any backend (also when wrapped).

    Example:
        >>> out_of_memory(MemoryError()), out_of_memory(ValueError("bad shape"))
        (True, False)
    """
    if isinstance(error, MemoryError):
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    # TensorFlow's ResourceExhaustedError, PyTorch's OutOfMemoryError, JAX's XlaRuntimeError.
    if names & {"ResourceExhaustedError", "OutOfMemoryError"}:
        return True
    text = str(error)
    return any(
        sign in text
        for sign in ("ResourceExhaustedError", "OOM when allocating", "RESOURCE_EXHAUSTED")
    ) or ("CUDA out of memory" in text)


def _device_of(error: BaseException, fallback: str) -> str:
    """The device an OOM message names (``GPU:0``), else ``fallback``."""
    if isinstance(error, MemoryError):
        return "the host (CPU memory)"
    found = re.search(r"/device:([A-Za-z_]+:\d+)", str(error))
    return found.group(1) if found else (fallback or "the accelerator")


def _memory_advice(model: Any, fit_args: Mapping[str, Any]) -> str:
    """A smaller batch (the current size and half of it) and/or --mixed-precision."""
    x = fit_args.get("x")
    if hasattr(x, "cardinality") or (fit_args.get("batch_size") is None and samples_in(x) is None):
        advice = "make the dataset's batches smaller"
    else:
        size = int(fit_args.get("batch_size") or 32)
        advice = (
            f"use a smaller batch_size (now {size}; try batch_size = {size // 2})"
            if size > 1
            else "use a smaller model or shorter inputs (batch_size is already 1)"
        )
    layers = getattr(model, "layers", None) or []
    policy = getattr(getattr(layers[0], "dtype_policy", None), "name", "") if layers else ""
    if not policy.startswith("mixed"):
        advice += " or add --mixed-precision (about half the activation memory)"
    return advice


def _cause(error: BaseException) -> str:
    """The error's message, its first line and at most 300 characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else repr(error)
    return text if len(text) <= 300 else text[:297] + "..."


def _where(guard: FaultGuard, hook: str = "") -> str:
    """``in epoch 3``, ``after step 5 of epoch 2``, ``at the end of epoch 1``..."""
    if guard.epoch is None:
        return "before the first epoch"
    epoch = guard.epoch + 1
    if hook == "on_epoch_begin":
        return f"at the start of epoch {epoch}"
    if hook == "on_train_batch_begin":
        return f"before step {guard.epoch_step + 1} of epoch {epoch}"
    if hook == "on_train_end":
        return "after the last epoch"
    if guard.epoch_ended or hook == "on_epoch_end":
        return f"at the end of epoch {epoch}"
    if hook:
        return f"after step {guard.epoch_step} of epoch {epoch}"
    if guard.in_step:
        return f"in step {guard.epoch_step + 1} of epoch {epoch}"
    return f"in epoch {epoch}"


def _partial_steps(guard: FaultGuard) -> int:
    """Steps completed after the last completed epoch (optimizer's count when further on)."""
    return guard.steps_run() - guard.saved_steps


def kept_weights(guard: FaultGuard, restored: bool, step_fault: bool, steps: int) -> str:
    """Which weights the model kept, in words (``steps``: steps the weights include).

    Example:
        >>> kept_weights(FaultGuard(), restored=False, step_fault=False, steps=7)
        'the model keeps the weights of its last completed step (7 step(s) in this run)'
    """
    if restored:
        where = (
            f"the end of epoch {guard.saved_epoch}"
            if guard.epochs_done
            else "where training started"
        )
        return (
            f"the model and its optimizer were put back to {where} ({steps} "
            f"step(s) in this run; {guard.epochs_done} complete epoch(s) in the history)"
        )
    if guard.copy_skipped_gb is not None and step_fault:
        return (
            "the model keeps the weights the failing step left (they may hold NaN or a partial "
            f"update): its state is {guard.copy_skipped_gb:.1f} GB, over the "
            f"{guard.limit_gb:g} GB kreg copies at each epoch end (KREG_SAFETY_COPY_GB "
            "raises the limit)"
        )
    return f"the model keeps the weights of its last completed step ({steps} step(s) in this run)"


def stop_reason(
    model: Any,
    fit_args: Mapping[str, Any],
    guard: FaultGuard,
    error: BaseException | None,
    culprit: tuple[Any, str] | None,
    kept: str,
    device: str,
) -> str | None:
    """Why training ended early, where, which weights were kept and what to try; None if not.

    Example:
        >>> print(stop_reason(None, {}, FaultGuard(), KeyboardInterrupt(), None, "kept", ""))
        interrupted before the first epoch, after 0 complete epoch(s) and 0 more step(s); kept
    """
    kept_sentence = kept[0].upper() + kept[1:]
    if isinstance(error, KeyboardInterrupt):
        return (
            f"interrupted {_where(guard)}, after {guard.epochs_done} complete epoch(s) and "
            f"{_partial_steps(guard)} more step(s); {kept}"
        )
    if culprit is not None and error is not None:
        callback, hook = culprit
        return (
            f"the callback {type(callback).__name__} raised {type(error).__name__} in {hook} "
            f"{_where(guard, hook)}: {_cause(error)}. {kept_sentence}"
        )
    if error is not None and out_of_memory(error):
        return (
            f"out of memory on {_device_of(error, device)} ({type(error).__name__}) "
            f"{_where(guard)}: {_memory_advice(model, fit_args)}. {kept_sentence}"
        )
    if error is not None:
        return (
            f"training failed {_where(guard)}: {type(error).__name__}: {_cause(error)}. "
            f"{kept_sentence}"
        )
    if guard.nan_at is not None:
        epoch, step = guard.nan_at
        what = "NaN" if math.isnan(guard.nan_value) else "infinite"
        return (
            f"the loss became {what} at epoch {epoch + 1}, step {step}: lower the learning "
            "rate, add clipnorm=1.0 to the optimizer, or check the data for NaN/inf. "
            f"{kept_sentence}"
        )
    planned = fit_args.get("epochs", 1) - fit_args.get("initial_epoch", 0)
    if getattr(model, "stop_training", False) and guard.epochs_done < planned:
        return (
            f"stopped after {guard.epochs_done} complete epoch(s): model.stop_training was set "
            "(the Stop button or a callback); the model keeps its trained weights"
        )
    return None
