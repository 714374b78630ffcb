"""Structural checks: the right base class or signature, required methods, a complete config.

They inspect classes and signatures only (no tensor work), never import Keras
themselves (a class that subclasses a Keras base has imported it already), and
run when an entry is first built, so a component that cannot work is refused
before a training run finds out.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from kreg.contracts.report import FAIL, PASS, SKIPPED, CheckResult, Report

_BASES = {
    "loss": ("losses", "Loss", "keras.losses.Loss"),
    "metric": ("metrics", "Metric", "keras.metrics.Metric"),
    "optimizer": ("optimizers", "Optimizer", "keras.optimizers.Optimizer"),
    "schedule": (
        "optimizers.schedules",
        "LearningRateSchedule",
        "keras.optimizers.schedules.LearningRateSchedule",
    ),
}
# What each kind must implement itself: alternatives separated by "|".
_REQUIRED = {
    "loss": ("call",),
    "metric": ("update_state", "result"),
    "optimizer": ("update_step|apply|apply_gradients",),
    "schedule": ("__call__", "get_config"),
}
_HOW = {
    "call": "def call(self, y_true, y_pred): return one loss per sample",
    "update_state": "def update_state(self, y_true, y_pred, sample_weight=None): accumulate",
    "result": "def result(self): return the metric from the accumulated state",
    "update_step|apply|apply_gradients": (
        "def update_step(self, gradient, variable, learning_rate): update one variable"
    ),
    "__call__": "def __call__(self, step): return the learning rate at `step`",
    "get_config": "def get_config(self): return every __init__ argument",
}


def keras_base(kind: str) -> type | None:
    """The Keras base class of ``kind``, or None when Keras was never imported.

    Example:
        >>> keras_base("loss") is None or keras_base("loss").__name__ == "Loss"
        True
    """
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    module_path, name, _ = _BASES[kind]
    module = keras
    for part in module_path.split("."):
        module = getattr(module, part)
    base: type = getattr(module, name)
    return base


def kind_of(obj: Any) -> str | None:
    """``loss``, ``metric``, ``optimizer`` or ``schedule`` for a Keras class or instance.

    Example:
        >>> import keras
        >>> kind_of(keras.losses.Huber), kind_of(keras.optimizers.Adam())
        ('loss', 'optimizer')
    """
    cls = obj if inspect.isclass(obj) else type(obj)
    for kind in _BASES:
        base = keras_base(kind)
        if base is not None and issubclass(cls, base):
            return kind
    return None


def _owner(cls: type, attribute: str) -> type | None:
    return next((c for c in cls.__mro__ if attribute in c.__dict__), None)


def _implemented(cls: type, base: type, attribute: str) -> bool:
    owner = _owner(cls, attribute)
    return owner is not None and owner not in base.__mro__


def _init_parameters(cls: type[Any]) -> list[inspect.Parameter]:
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _pair_signature(function: Callable[..., Any], what: str) -> str | None:
    """Why ``function`` cannot be called as ``function(y_true, y_pred)``, or None."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(object(), object())
    except TypeError as error:
        shown = f"{getattr(function, '__name__', what)}{signature}"
        return (
            f"{shown} cannot be called as {what}(y_true, y_pred) ({error}); "
            "take exactly two positional arguments, any others with defaults"
        )
    return None


def callable_class(target: Any, kind: str) -> bool:
    """Whether ``target`` is a class that is no Keras base's but whose instances Keras's
    ``compile`` takes as a ``kind``: they are called as ``obj(y_true, y_pred)``.

    Example:
        >>> class DiceLoss:
        ...     def __call__(self, gt, pr):
        ...         return 1 - 2 * (gt * pr).sum() / (gt + pr).sum()
        >>> callable_class(DiceLoss, "loss"), callable_class(DiceLoss, "optimizer")
        (True, False)
    """
    if kind not in ("loss", "metric") or not inspect.isclass(target):
        return False
    base = keras_base(kind)
    if base is not None and issubclass(target, base):
        return False
    owner = _owner(target, "__call__")
    return owner is not None and owner is not object and not issubclass(owner, type)


def _check_base(target: Any, kind: str) -> CheckResult:
    base = keras_base(kind)
    _, _, public = _BASES[kind]
    if callable_class(target, kind):
        method = target.__call__
        try:
            inspect.signature(method).bind(object(), object(), object())
        except TypeError as error:
            return CheckResult(
                "base_class",
                FAIL,
                f"{target.__qualname__}.__call__{inspect.signature(method)} cannot be called "
                f"as {kind}(y_true, y_pred) ({error})",
            )
        except ValueError:
            pass
        return CheckResult(
            "base_class",
            PASS,
            f"a callable class, not a {public}: kreg wraps its instances as Keras's compile "
            "does (a function wrapper), so it trains; saving needs a Keras class",
        )
    if inspect.isclass(target):
        if base is not None and issubclass(target, base):
            return CheckResult("base_class", PASS, f"subclass of {public}")
        return CheckResult(
            "base_class",
            FAIL,
            f"{target.__qualname__} is not a subclass of {public}; "
            f"declare it as `class {target.__name__}({public})`",
        )
    if kind in ("loss", "metric") and callable(target):
        problem = _pair_signature(target, kind)
        if problem:
            return CheckResult("base_class", FAIL, problem)
        what = "function" if inspect.isroutine(target) else "callable object"
        return CheckResult("base_class", PASS, f"plain {kind} {what} fn(y_true, y_pred)")
    return CheckResult(
        "base_class",
        FAIL,
        f"a {kind} must be a subclass of {public}; got {target!r} "
        f"({type(target).__name__}). Register the class instead",
    )


def _check_methods(target: Any, kind: str) -> CheckResult:
    base = keras_base(kind)
    if not inspect.isclass(target) or base is None or not issubclass(target, base):
        return CheckResult("required_methods", SKIPPED, "not a Keras class")
    cls: Any = target  # a Keras class: its methods are looked up by name
    missing = [
        required
        for required in _REQUIRED[kind]
        if not any(_implemented(target, base, name) for name in required.split("|"))
    ]
    if missing:
        names = ", ".join(m.split("|")[0] for m in missing)
        hints = "; ".join(_HOW[m] for m in missing)
        return CheckResult(
            "required_methods",
            FAIL,
            f"{target.__qualname__} does not implement {names} (the {base.__name__} base "
            f"only raises NotImplementedError); add {hints}",
        )
    if kind == "metric":
        try:
            parameters: Mapping[str, inspect.Parameter] = inspect.signature(
                cls.update_state
            ).parameters
        except (TypeError, ValueError):
            parameters = {}
        if parameters and not (
            "sample_weight" in parameters
            or any(p.kind == p.VAR_KEYWORD for p in parameters.values())
        ):
            return CheckResult(
                "required_methods",
                FAIL,
                f"{cls.__qualname__}.update_state{inspect.signature(cls.update_state)} "
                "has no sample_weight argument, but compile() passes one; use "
                "update_state(self, y_true, y_pred, sample_weight=None)",
            )
    if kind == "loss":
        # target.call is unbound: (self, y_true, y_pred) must bind three arguments.
        try:
            inspect.signature(cls.call).bind(object(), object(), object())
        except TypeError as error:
            return CheckResult(
                "required_methods",
                FAIL,
                f"{cls.__qualname__}.call{inspect.signature(cls.call)} cannot be "
                f"called as call(y_true, y_pred) ({error})",
            )
        except ValueError:
            pass
    return CheckResult("required_methods", PASS, ", ".join(_REQUIRED[kind]).replace("|", "/"))


def _check_config_coverage(target: Any, kind: str, as_written: bool = True) -> CheckResult:
    base = keras_base(kind)
    if not inspect.isclass(target) or base is None or not issubclass(target, base):
        return CheckResult("config_covers_init", SKIPPED, "not a Keras class")
    # As written: the author's get_config, looking through a repair kreg made in this process.
    owner = next(
        (
            c
            for c in target.__mro__
            if "get_config" in c.__dict__
            and not (as_written and hasattr(c.__dict__["get_config"], "__kreg_original__"))
        ),
        None,
    )
    if owner is None:
        return CheckResult(
            "config_covers_init",
            FAIL,
            f"{target.__qualname__} has no get_config(); add one returning every __init__ argument",
        )
    # The class that introduced each __init__ argument (the most basic one taking it): a
    # get_config inherited from a strict ancestor of that class cannot know the argument.
    introduced: dict[str, type] = {}
    for cls in target.__mro__:
        if "__init__" in cls.__dict__:
            for parameter in _init_parameters(cls):
                introduced[parameter.name] = cls
    own = [p.name for p in _init_parameters(target)]
    unknown = [
        name
        for name in own
        if name in introduced
        and owner is not introduced[name]
        and owner in introduced[name].__mro__
    ]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        required = [p.name for p in _init_parameters(target) if p.default is p.empty]
        missing_required = [name for name in unknown if name in required]
        consequence = (
            f"a saved model cannot be loaded (load_model fails: __init__ requires "
            f"{', '.join(map(repr, missing_required))})"
            if missing_required
            else "a saved model would reload with the defaults"
        )
        return CheckResult(
            "config_covers_init",
            FAIL,
            f"{target.__qualname__}.__init__ takes {listed}, but get_config() is "
            f"{owner.__name__}.get_config, which does not return them: {consequence}. Add "
            f"get_config() returning "
            f"{{**super().get_config(), {', '.join(f'{n!r}: self.{n}' for n in unknown)}}}",
        )
    return CheckResult("config_covers_init", PASS, f"get_config is {owner.__qualname__}'s")


BLOCKING = ("base_class", "required_methods")
"""Structural checks whose failure means the component cannot work in ``compile``/``fit``:
kreg does not hand it out. A failed ``config_covers_init`` only breaks saving: the
component is handed out, with a warning (and its ``get_config`` repaired when kreg can)."""


def blocking_failures(report: Report) -> list[CheckResult]:
    """The failed checks of ``report`` that keep a component from being handed out.

    Example:
        >>> report = Report("loss x", "loss", [CheckResult("config_covers_init", FAIL, "...")])
        >>> report.ok, blocking_failures(report)
        (False, [])
    """
    return [result for result in report.failures if result.name in BLOCKING]


def structural_report(
    target: Any, kind: str, subject: str | None = None, *, as_written: bool = True
) -> Report:
    """Run the structural checks on a class or function registered as ``kind``.

    ``as_written``: judge ``get_config`` as the class's author wrote it, not as kreg
    repaired it in this process; kreg's own built-ins pass False (they are checked as
    :func:`kreg.get` hands them out, repaired).

    Example:
        >>> import keras
        >>> class NoCall(keras.losses.Loss):
        ...     pass
        >>> report = structural_report(NoCall, "loss")
        >>> report.ok, report["required_methods"].outcome
        (False, 'fail')
    """
    report = Report(subject or str(getattr(target, "__qualname__", repr(target))), kind)
    coverage = functools.partial(_check_config_coverage, as_written=as_written)
    for check in (_check_base, _check_methods, coverage):
        started = time.perf_counter()
        result = check(target, kind)
        result.seconds = time.perf_counter() - started
        report.add(result)
        if check is _check_base and result.outcome == FAIL:
            break
    return report
