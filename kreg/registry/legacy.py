"""Keras 2 / tf.keras arguments mapped to their Keras 3 successors, with warnings."""

from __future__ import annotations

import inspect
from typing import Any

from kreg.errors import ConfigError
from kreg.warn import warn_caller


def _explicit_parameters(target: Any) -> set[str]:
    init = target.__init__ if inspect.isclass(target) else target
    try:
        parameters = inspect.signature(init).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _warn(message: str) -> None:
    warn_caller(message, DeprecationWarning)


def translate(kind: str, name: str, target: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Return ``config`` with Keras 2 arguments rewritten for Keras 3.

    - optimizers: ``lr`` -> ``learning_rate``; ``decay`` -> an
      ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)`` schedule,
      which gives Keras 2's ``lr / (1 + decay * iterations)`` at every step;
    - losses: ``reduction="auto"`` -> ``"sum_over_batch_size"``.

    Arguments the target itself declares are never rewritten.

    Example:
        >>> import warnings
        >>> class Opt:
        ...     def __init__(self, learning_rate=0.01, **kwargs): ...
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     translate("optimizer", "opt", Opt, {"lr": 0.1})
        {'learning_rate': 0.1}
    """
    if kind == "optimizer":
        return _optimizer(name, target, config)
    if kind == "loss" and config.get("reduction") == "auto":
        if "auto" not in _explicit_parameters(target):
            _warn(f"{name}: reduction='auto' is Keras 2; use reduction='sum_over_batch_size'.")
            return {**config, "reduction": "sum_over_batch_size"}
    return config


def _optimizer(name: str, target: Any, config: dict[str, Any]) -> dict[str, Any]:
    if "lr" not in config and "decay" not in config:
        return config
    declared = _explicit_parameters(target)
    config = dict(config)
    if "lr" in config and "lr" not in declared:
        if "learning_rate" in config:
            raise ConfigError(
                f"{name}: both lr= and learning_rate= were given; keep learning_rate= only.",
                component=name,
                argument="lr",
            )
        _warn(f"{name}: lr= is Keras 2; use learning_rate={config['lr']!r}.")
        config["learning_rate"] = config.pop("lr")
    if "decay" in config and "decay" not in declared:
        decay = config.pop("decay")
        if decay:
            config["learning_rate"] = _decay_schedule(name, target, config, decay)
    return config


def _decay_schedule(name: str, target: Any, config: dict[str, Any], decay: Any) -> Any:
    from keras.optimizers.schedules import InverseTimeDecay

    default = inspect.signature(target.__init__).parameters.get("learning_rate")
    rate = config.get("learning_rate", default.default if default else 0.001)
    if not isinstance(rate, (int, float)):
        raise ConfigError(
            f"{name}: decay={decay!r} (Keras 2) cannot be combined with a learning-rate "
            f"schedule ({type(rate).__name__}); drop decay= or fold it into the schedule.",
            component=name,
            argument="decay",
        )
    _warn(
        f"{name}: decay={decay!r} is Keras 2; use learning_rate=InverseTimeDecay("
        f"initial_learning_rate={rate!r}, decay_steps=1, decay_rate={decay!r})."
    )
    return InverseTimeDecay(initial_learning_rate=rate, decay_steps=1, decay_rate=decay)
