"""Shared machinery of the behavioural checks: timing, outcomes, numeric comparison."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from kreg.contracts.report import FAIL, PASS, SKIPPED, WARN, CheckResult, Report


class CheckFailed(Exception):
    """Raised inside a check: the message says what was expected, what came back, the fix."""


class CheckWarning(Exception):
    """Raised inside a check whose failure is only a warning (XLA, mixed precision)."""


class CheckSkipped(Exception):
    """Raised inside a check that does not apply (the message says why)."""


def run_check(
    report: Report, name: str, check: Callable[[], str], *, warn_only: bool = False
) -> bool:
    """Run one check, time it, and record its outcome; return whether it passed.

    ``check`` returns the pass message, or raises :class:`CheckFailed` /
    :class:`CheckWarning` / :class:`CheckSkipped`. Any other exception is a
    failure (a warning when ``warn_only``) that quotes the error.
    """
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras's advice on casting weights is noise here
            outcome, message = PASS, check()
    except CheckSkipped as skipped:
        outcome, message = SKIPPED, str(skipped)
    except CheckWarning as warned:
        outcome, message = WARN, str(warned)
    except CheckFailed as failed:
        outcome, message = (WARN if warn_only else FAIL), str(failed)
    except Exception as error:
        outcome, message = (WARN if warn_only else FAIL), f"raised {describe(error)}"
    report.add(CheckResult(name, outcome, message, time.perf_counter() - started))
    return outcome == PASS


def fit_two_steps(optimizer: Any) -> tuple[Any, list[np.ndarray], Any]:
    """Compile a one-layer regression with ``optimizer`` and ``fit`` two steps of 4 samples.

    Returns ``(history, weights before, model)``; what ``fit`` raises goes through.

    Example:
        >>> import keras
        >>> history, before, model = fit_two_steps(keras.optimizers.SGD())
        >>> len(history.history["loss"]), len(before)
        (1, 2)
    """
    import keras

    x = np.linspace(-1, 1, 16, dtype="float32").reshape(8, 2)
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    before = [np.array(w) for w in model.get_weights()]
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    return history, before, model


def describe(error: BaseException) -> str:
    """``TypeError: message`` on one line, cut to a readable length."""
    text = " ".join(str(error).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(error).__name__}: {text}"


def to_numpy(value: Any) -> np.ndarray:
    """A tensor, variable, ragged tensor or nested list as a float64 NumPy array.

    A dict (a metric's ``result()`` may be one) gives its values in key order, flattened.

    Example:
        >>> to_numpy({"recall": 0.25, "precision": [0.5]})
        array([0.5 , 0.25])
    """
    if isinstance(value, Mapping):
        parts = [to_numpy(value[key]).ravel() for key in sorted(value)]
        return np.concatenate(parts) if parts else np.zeros(0)
    flat = getattr(value, "flat_values", None)  # a RaggedTensor: its values, row by row
    if flat is not None:
        value = flat
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value, dtype="float64")


def close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Same shape (or the same dict keys) and values within tolerance (NaN equals NaN).

    Example:
        >>> close([1.0, float("nan")], [1.00001, float("nan")])
        True
        >>> close({"f1": 0.5}, {"f1": 0.5}), close({"f1": 0.5}, {"f2": 0.5})
        (True, False)
    """
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        if not (isinstance(a, Mapping) and isinstance(b, Mapping) and set(a) == set(b)):
            return False
        return all(close(a[key], b[key], rtol, atol) for key in a)
    a, b = to_numpy(a), to_numpy(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def shown(value: Any) -> str:
    """A short text form of a tensor's (or a dict of tensors') value for messages.

    Example:
        >>> shown({"precision": 0.5}), shown([1.0, 2.0])
        ("{'precision': 0.5}", '[1., 2.]')
    """
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key!r}: {shown(value[key])}" for key in sorted(value)) + "}"
    array = to_numpy(value)
    if array.size > 8:
        return f"array of shape {array.shape}"
    return np.array2string(array, precision=4, separator=", ")


def same_config_value(a: Any, b: Any) -> bool:
    """Config values equal up to list/tuple and float32 rounding.

    Example:
        >>> same_config_value((0, 1), [0, 1]), same_config_value(0.1, 0.10000000149)
        (True, True)
    """
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_config_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_config_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return bool(np.isclose(float(a), float(b), rtol=1e-6, atol=1e-12))
    return bool(a == b)


def config_differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys whose values differ between two configs, as ``key: a -> b`` texts.

    Example:
        >>> config_differences({"opt": {"class_name": "adam"}}, {"opt": {"class_name": "Adam"}})
        ["opt.class_name: 'adam' -> 'Adam'"]
    """
    found = []
    for key in dict.fromkeys([*a, *b]):
        left, right = a.get(key, "<missing>"), b.get(key, "<missing>")
        if isinstance(left, dict) and isinstance(right, dict):
            found.extend(config_differences(left, right, f"{prefix}{key}."))
        elif not same_config_value(left, right):
            found.append(f"{prefix}{key}: {_short(left)} -> {_short(right)}")
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
