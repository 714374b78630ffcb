"""The four hooks a kreg plugin implements.

Each hook receives one argument, ``register``: call it once per component.
Its signature is ``register(obj, name=None, *, aliases=(), example=None, tags=(),
legacy_aliases=(), defects=None, expects=None)``:

- ``obj``: a class, a plain function ``fn(y_true, y_pred)`` (losses and
  metrics), or a lazy ``"module:attr"`` string imported on first use.
- ``name``: the canonical name; by default the snake_case form of the class or
  function name (lower case for optimizers).
- ``aliases``: other spellings that resolve to it.
- ``example``: a zero-argument callable returning ``(y_true, y_pred)`` sample
  arrays that suit the component, or a dict ``{"y_true", "y_pred", "config"}``
  whose ``config`` holds constructor arguments (used by the contract checks).
- ``tags``: free-form words shown by ``kreg show``; ``not-streaming`` (metrics)
  and ``batch-dependent`` (losses) exempt a component from checks that cannot
  hold for it by design.
- ``legacy_aliases``: old spellings that resolve with a ``DeprecationWarning``.
- ``defects``: ``{tag: one-line reason}`` for each real defect the plugin knows the
  component has (a bridge to a library it does not own): ``kreg.get`` warns with the
  reason the first time, ``kreg show`` lists them, and ``kreg check`` still tests it.
- ``expects`` (losses and metrics): what the component expects of the data, for
  :func:`kreg.preflight`: a dict ``{"y_true": ..., "y_pred": ..., "task": ...,
  "logits": "from_logits"}`` whose words come from :mod:`kreg.registry.expects`
  (``y_true``: binary, class_ids, one_hot, multi_hot, signed, real, non_negative,
  distribution, ranking, any; ``y_pred``: probabilities, distribution, logits, real,
  non_negative, any; ``task``: classification, regression, ranking, any). ``logits``
  names the argument that, when true, makes ``y_pred`` logits. Without it the
  component gets no preflight findings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("kreg")
hookimpl = pluggy.HookimplMarker("kreg")

Register = Callable[..., Any]


@hookspec
def register_losses(register: Register) -> None:
    """Register loss classes (``keras.losses.Loss`` subclasses) or loss functions.

    Example:
        >>> @hookimpl
        ... def register_losses(register):
        ...     register("my_plugin.losses:FocalTversky", aliases=["ft"])
    """


@hookspec
def register_metrics(register: Register) -> None:
    """Register metric classes (``keras.metrics.Metric`` subclasses) or metric functions.

    Example:
        >>> @hookimpl
        ... def register_metrics(register):
        ...     register("my_plugin.metrics:Specificity")
    """


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizer classes (``keras.optimizers.Optimizer`` subclasses).

    Example:
        >>> @hookimpl
        ... def register_optimizers(register):
        ...     register("my_plugin.optimizers:Lookahead")
    """


@hookspec
def register_schedules(register: Register) -> None:
    """Register learning-rate schedules (``LearningRateSchedule`` subclasses).

    Example:
        >>> @hookimpl
        ... def register_schedules(register):
        ...     register("my_plugin.schedules:WarmupCosine", aliases=["warmup"])
    """


HOOK_KINDS: dict[str, str] = {
    "register_losses": "loss",
    "register_metrics": "metric",
    "register_optimizers": "optimizer",
    "register_schedules": "schedule",
}
