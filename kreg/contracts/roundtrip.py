"""Config and serialization round trips, built with non-default argument values.

Defaults hide bugs: a ``get_config`` that forgets ``delta`` still round-trips
``Huber()``. So the component is built with a changed value for every simple
argument it takes (numbers, booleans, ``reduction``), and each must come back.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import keras

from kreg.contracts.common import (
    CheckFailed,
    CheckWarning,
    close,
    config_differences,
    describe,
    same_config_value,
)
from kreg.contracts.subject import Subject

_NEVER_CHANGED = {"name", "dtype", "self"}


def changed_value(name: str, default: Any) -> Any:
    """A valid-looking value different from ``default``, or ``inspect.Parameter.empty``.

    Example:
        >>> changed_value("delta", 1.0), changed_value("from_logits", False)
        (1.5, True)
        >>> changed_value("axis", -1), changed_value("alpha", 0.25)
        (1, 0.125)
    """
    if name == "reduction" and default == "sum_over_batch_size":
        return "sum"
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return 1 if default == -1 else default + 1
    if isinstance(default, float):
        if default == 0.0:
            return 0.1
        return default / 2 if 0.0 < default < 1.0 else default * 1.5
    return inspect.Parameter.empty


def _parameters(subject: Subject) -> list[inspect.Parameter]:
    target = subject.target
    if not (inspect.isclass(target) or inspect.isfunction(target)):
        target = type(target)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if inspect.isfunction(target):
        parameters = list(inspect.signature(target).parameters.values())[2:]
        return [p for p in parameters if p.kind not in variadic]
    found: dict[str, inspect.Parameter] = {}
    for cls in target.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None or init is object.__init__:
            continue
        try:
            parameters = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            break
        for parameter in parameters:
            if parameter.kind not in variadic:
                found.setdefault(parameter.name, parameter)
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return list(found.values())


def changed_arguments(subject: Subject) -> dict[str, Any]:
    """Non-default values for every simple argument the subject's class takes."""
    changed = {}
    for parameter in _parameters(subject):
        if parameter.name in _NEVER_CHANGED or parameter.name in subject.example.config:
            continue
        if parameter.default is parameter.empty:
            continue
        value = changed_value(parameter.name, parameter.default)
        if value is not inspect.Parameter.empty:
            changed[parameter.name] = value
    return changed


def build_changed(subject: Subject) -> tuple[Any, dict[str, Any]]:
    """Build with as many changed arguments as the component accepts together."""
    wanted = changed_arguments(subject)
    try:
        return subject.make(**wanted), wanted
    except Exception:
        pass
    kept: dict[str, Any] = {}
    for key, value in wanted.items():
        try:
            subject.make(**kept, **{key: value})
        except Exception:
            continue
        kept[key] = value
    return subject.make(**kept), kept


def _coverage_problem(subject: Subject, config: dict[str, Any], passed: dict[str, Any]) -> str:
    missing = [k for k in passed if k not in config]
    wrong = [k for k in passed if k in config and not same_config_value(config[k], passed[k])]
    if not (missing or wrong):
        return ""
    cls = type(subject.target) if not inspect.isclass(subject.target) else subject.target
    required = [p.name for p in _parameters(subject) if p.default is p.empty]
    key = next((k for k in missing if k in required), (missing or wrong)[0])
    if key in required and key in missing:
        text = (
            f"get_config() does not return {key!r}, an argument __init__ requires: a saved "
            f"model cannot be loaded (load_model fails: from_config(get_config()) raises "
            f"TypeError, missing {key!r}). Add {key!r}: self.{key} to get_config()"
        )
    elif missing:
        text = (
            f"get_config() does not return {', '.join(map(repr, missing))} (built with "
            f"{key}={passed[key]!r}): a saved model reloads with the default. Add "
            f"{key!r}: self.{key} to get_config()"
        )
    else:
        text = (
            f"get_config() returns {key}={config[key]!r} for an object built with "
            f"{key}={passed[key]!r}; return the value the object was built with"
        )
    if subject.raw and set(missing) & set(subject.repaired_keys()):
        text += (
            f". This is a bug of Keras {keras.__version__} itself (keras-team/keras#23286): "
            f"{cls.__name__} objects that kreg hands out are repaired"
        )
    return text


_KERAS_BASES = {"loss": "keras.losses.Loss", "metric": "keras.metrics.Metric"}


def plain_callable_fix(subject: Subject) -> str:
    """Why a callable class or object that is not a Keras class cannot be saved; "" otherwise.

    Keras wraps such a callable (``LossFunctionWrapper``/``MeanMetricWrapper``) and saves it
    by its name only, so ``load_model`` cannot rebuild it.

    Example:
        >>> import keras
        >>> class Dice:
        ...     def __call__(self, y_true, y_pred):
        ...         return y_pred
        >>> subject = Subject("loss Dice", "loss", Dice, Dice, None)
        >>> plain_callable_fix(subject)[:58]
        'Dice is a plain callable, not a keras.losses.Loss: Keras s'
    """
    from kreg.contracts.structural import keras_base

    target = subject.target
    cls = target if inspect.isclass(target) else type(target)
    base = keras_base(subject.kind)
    if inspect.isfunction(target) or base is None or issubclass(cls, base):
        return ""
    name = _KERAS_BASES.get(subject.kind, base.__name__)
    return (
        f"{cls.__qualname__} is a plain callable, not a {name}: Keras saves it by its name "
        f"only, so load_model cannot rebuild it (nor its arguments). Subclass {name} with a "
        "get_config() and register it with @keras.saving.register_keras_serializable(package=...)"
    )


def check_config_roundtrip(subject: Subject, value: Callable[[Any], Any]) -> str:
    """Changed arguments come back from ``get_config``; ``from_config`` rebuilds an equal object."""
    instance, changed = build_changed(subject)
    passed = {**subject.example.config, **changed}  # the example's arguments must come back too
    config = subject.config_of(instance)
    problem = _coverage_problem(subject, config, passed)
    if problem:
        raise CheckFailed(plain_callable_fix(subject) or problem)
    try:
        clone = type(instance).from_config(dict(config))
    except Exception as error:
        if not subject.from_registry and inspect.isfunction(subject.target):
            raise CheckWarning(
                f"from_config cannot find the function {subject.target.__name__!r} "
                f"({describe(error)}); register it with "
                "@keras.saving.register_keras_serializable() so a saved model reloads it"
            ) from error
        fix = plain_callable_fix(subject) or (
            "__init__ must accept every key get_config() returns (pass name= and dtype= on "
            "to super().__init__)"
        )
        raise CheckFailed(f"from_config(get_config()) raised {describe(error)}; {fix}") from error
    differences = config_differences(config, subject.config_of(clone))
    if differences:
        raise CheckFailed(
            f"from_config(get_config()) built an object whose config differs: "
            f"{'; '.join(differences[:3])}; __init__ must store what it is given"
        )
    compared = _compare_values(value, instance, clone)
    given = [k for k in subject.example.config if k not in changed]
    also = f", and the example's {', '.join(given)}" if given else ""
    kept = f"{len(changed)} changed arguments kept ({', '.join(changed) or 'none'}){also}"
    return kept + compared


def _compare_values(value: Callable[[Any], Any], original: Any, clone: Any) -> str:
    try:
        expected = value(original)
    except Exception as error:
        return f"; values not compared ({describe(error)[:80]})"
    got = value(clone)
    if not close(expected, got):
        raise CheckFailed(
            f"the rebuilt object computes {got} where the original computed {expected}; "
            "some state set in __init__ is missing from get_config(), or another class is "
            "registered with Keras under the same name"
        )
    return "; values equal"


def check_serialization(subject: Subject, value: Callable[[Any], Any]) -> str:
    """``keras.saving.serialize_keras_object`` and back give an equal object."""
    instance, _ = build_changed(subject)
    serialized = keras.saving.serialize_keras_object(instance)
    if isinstance(serialized, dict) and (subject.raw or subject.as_written):
        serialized["config"] = subject.config_of(instance)
    registered = serialized.get("registered_name") if isinstance(serialized, dict) else None
    collision = _name_collision(type(instance), registered)
    if collision and subject.from_registry:
        raise CheckFailed(collision)
    try:
        clone = keras.saving.deserialize_keras_object(serialized)
    except Exception as error:
        fix = plain_callable_fix(subject) or _missing_required(error)
        message = (
            collision
            or (f"{fix} ({describe(error)[:160]})" if fix else "")
            or (
                f"keras.saving.deserialize_keras_object could not rebuild it ({describe(error)}); "
                "register the class with @keras.saving.register_keras_serializable(package=...) "
                "so a saved model loads without custom_objects"
            )
        )
        if subject.from_registry:
            raise CheckFailed(message) from error
        raise CheckWarning(message) from error
    compared = _compare_values(value, instance, clone)
    _check_fresh_process(subject, type(instance), registered)
    return f"as {registered or type(instance).__name__}{compared}"


# Keras imports these packages itself when a saved model names one of their classes.
_KERAS_IMPORTS = {"keras", "keras_hub", "keras_cv", "keras_nlp"}


def _check_fresh_process(subject: Subject, cls: type, registered: str | None) -> None:
    """Warn when a fresh process that imports only kreg could not find ``registered``."""
    if not subject.fresh_names or not registered or registered in subject.fresh_names:
        return
    top = cls.__module__.split(".")[0]
    if top in _KERAS_IMPORTS:
        return
    raise CheckWarning(
        f"Keras saves it as {registered!r}, a name that only importing {top} registers: in a "
        f"fresh process, load_model needs `import {top}` first (kreg's stand-ins answer to "
        f"{', '.join(map(repr, subject.fresh_names))}). Its author can register it as "
        f"@keras.saving.register_keras_serializable(package={top!r})"
    )


def _missing_required(error: BaseException) -> str:
    """The fix when rebuilding failed for want of a required ``__init__`` argument; "" else.

    Example:
        >>> _missing_required(TypeError("Box.__init__() missing 1 required positional "
        ...                             "argument: 'fmt'"))[:59]
        "get_config() does not return 'fmt', which __init__ requires"
    """
    pattern = r"missing \d+ required (?:positional |keyword-only )?arguments?: (.+)"
    found = re.search(pattern, str(error))
    if found is None:
        return ""
    names = found.group(1).strip().rstrip(".")
    return (
        f"get_config() does not return {names}, which __init__ requires: load_model of a "
        f"saved model fails. Add them to get_config()"
    )


def _name_collision(cls: type[Any], registered: str | None) -> str:
    """Why Keras would load another class under ``cls``'s registered name; "" when it would not."""
    if not registered or ">" not in registered:
        return ""
    found = keras.saving.get_registered_object(registered)
    if found is None or found is cls:
        return ""
    return (
        f"Keras's registry maps {registered!r} to {found.__module__}.{found.__qualname__}, "
        f"not to {cls.__module__}.{cls.__qualname__}: two classes are registered under one "
        "name, so load_model rebuilds the other one (or fails). Register them under "
        "different names: @keras.saving.register_keras_serializable(package=..., name=...)"
    )
