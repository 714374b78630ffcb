"""Entry -> ready Keras object: import the target, gate it by its contract, build it.

The plain path (``kreg.get("huber")``) costs one dictionary lookup and one call;
argument checking, Keras 2 translation and error diagnosis run only when arguments
are given or construction fails. What building learns about an entry (its imported
target, its factory, its structural report, why it failed) is cached here, per entry.
"""

from __future__ import annotations

import importlib
import inspect
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kreg.errors import (
    ComponentLoadError,
    ConfigError,
    ContractError,
    KregError,
    missing_dependency,
)
from kreg.names import suggest
from kreg.registry import legacy
from kreg.registry.parameters import Parameters, parameters_of
from kreg.registry.sources import summary_of_target
from kreg.warn import warn_caller

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.contracts.report import Report
    from kreg.registry.entry import Entry


@dataclass
class _Built:
    """What building one entry has learnt so far."""

    target: Any = None
    factory: Callable[..., Any] | None = None
    structural: Report | None = None
    parameters: Parameters | None = None
    summary: str | None = None
    failure: tuple[str, str] | None = None  # (stage, why), from a build without arguments
    notices: list[str] | None = None  # warnings for the first use (create(warn=True))
    import_seconds: float = 0.0  # what importing a lazy target cost


_built: dict[int, _Built] = {}
"""By ``id(entry)``: a plain dict is the cheapest lookup on ``kreg.get``'s path; an entry's
state is dropped when the entry is collected (before its id can be reused)."""


def _state(entry: Entry) -> _Built:
    state = _built.get(id(entry))
    if state is None:
        state = _built.setdefault(id(entry), _Built())
        weakref.finalize(entry, _built.pop, id(entry), None)
    return state


def is_loaded(entry: Entry) -> bool:
    """Whether ``entry``'s target has been imported (or was registered as an object)."""
    state = _built.get(id(entry))
    return not isinstance(entry.target, str) or (state is not None and state.target is not None)


def load(entry: Entry) -> Any:
    """Import and return the class or function behind ``entry`` (cached).

    Raises:
        ComponentLoadError: the plugin's module or attribute cannot be imported.

    Example:
        >>> import kreg
        >>> load(kreg.lookup("huber")).__name__
        'Huber'
    """
    state = _state(entry)
    if state.target is not None:
        return state.target
    if not isinstance(entry.target, str):
        state.target = entry.target
        return state.target
    module_name, _, attribute = entry.target.partition(":")
    started = time.perf_counter()
    try:
        loaded = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:
        raise ComponentLoadError(
            f"{entry.kind} {entry.qualified_name!r}: plugin {entry.plugin!r} registered "
            f"{entry.target!r}, which cannot be imported ({type(error).__name__}: {error}). "
            + (
                _needs_tensorflow(entry)
                if getattr(error, "name", None) == "tensorflow"
                else f"Fix or reinstall the plugin, or hide it with "
                f"KREG_DISABLE_PLUGINS={entry.plugin}."
            )
        ) from error
    state.import_seconds = time.perf_counter() - started
    state.target = loaded
    return loaded


def _needs_tensorflow(entry: Entry) -> str:
    """The fix for a library that imports TensorFlow, where Keras runs on another backend."""
    from kreg.kerasext.backend import backend_name

    return (
        f"Its library needs TensorFlow, and Keras runs on {backend_name()} here without it: "
        f"a failure of this backend only. Use it with KERAS_BACKEND=tensorflow (pip install "
        f"tensorflow), or hide it with KREG_DISABLE_PLUGINS={entry.plugin}."
    )


def import_seconds(entry: Entry) -> float:
    """What importing ``entry``'s lazy target cost in this process (0.0 if not imported).

    The first entry of a library pays for importing the library.
    """
    state = _built.get(id(entry))
    return state.import_seconds if state is not None else 0.0


def summary(entry: Entry) -> str:
    """First line of the target's docstring; lazy targets are read from source, not imported."""
    state = _state(entry)
    if state.summary is None:
        if is_loaded(entry):
            doc = inspect.getdoc(load(entry)) or ""
            state.summary = doc.strip().split("\n", 1)[0]
        else:
            state.summary = summary_of_target(entry.target)
    return state.summary


def failure(entry: Entry) -> str | None:
    """Why the last build of ``entry`` without arguments failed to import or build it."""
    state = _built.get(id(entry))
    return state.failure[1] if state is not None and state.failure else None


def structural_report(entry: Entry) -> Report:
    """The structural contract checks of ``entry`` (imports its target; cached)."""
    state = _state(entry)
    if state.structural is None:
        from kreg.contracts.structural import structural_report as check

        label = f"{entry.kind} {entry.qualified_name!r}"
        state.structural = check(load(entry), entry.kind, label, as_written=not entry.is_builtin)
    return state.structural


def rejection(entry: Entry) -> str | None:
    """Why ``entry`` cannot work in ``compile``/``fit`` (so kreg does not hand it out); None
    if it can or is not loaded yet. A failure that only breaks saving is not a rejection."""
    if not is_loaded(entry):
        return None
    from kreg.contracts.structural import blocking_failures

    blocking = blocking_failures(structural_report(entry))
    return "; ".join(r.message for r in blocking) if blocking else None


def factory(entry: Entry) -> Callable[..., Any]:
    """The callable that builds instances of ``entry``: imported, gated, registered with Keras.

    Raises:
        ComponentLoadError: the target cannot be imported.
        ContractError: the target fails the structural contract (never handed out).
        ConfigError: the target is neither a class nor a loss/metric function.

    Example:
        >>> import kreg
        >>> factory(kreg.lookup("huber")).__name__
        'Huber'
    """
    state = _state(entry)
    if state.factory is not None:
        return state.factory
    try:
        target = load(entry)
    except ComponentLoadError as error:
        cause = error.__cause__
        why = f"{entry.target!r} cannot be imported ({type(cause).__name__}: {cause})"
        state.failure = ("load", why)
        raise
    why_not = rejection(entry)
    if why_not:
        raise ContractError(
            f"{entry.kind} {entry.qualified_name!r} ({entry.target_path}) does not follow "
            f"the Keras {entry.kind} contract, so kreg does not hand it out: "
            f"{why_not}. Run `kreg check {entry.qualified_name}` for the report; "
            f"fix the plugin {entry.plugin!r} or hide it with "
            f"KREG_DISABLE_PLUGINS={entry.plugin}.",
            report=structural_report(entry),
        )
    from kreg.registry.notices import first_use_notices

    state.notices = first_use_notices(entry, target, structural_report(entry))
    state.factory = _make_factory(entry, target)
    return state.factory


def _make_factory(entry: Entry, target: Any) -> Callable[..., Any]:
    if not entry.is_builtin:
        from kreg.kerasext.serialization import make_serializable

        make_serializable(target, entry.plugin)
    if inspect.isclass(target):
        from kreg.contracts.structural import callable_class

        if callable_class(target, entry.kind):
            from kreg.kerasext.wrappers import instance_factory

            return instance_factory(target, entry.kind, entry.name)
        return target
    if entry.kind in ("loss", "metric") and callable(target):
        from kreg.kerasext.wrappers import function_factory

        return function_factory(target, entry.kind, entry.name)
    raise ConfigError(
        f"{entry.kind} {entry.qualified_name!r} is registered as {target!r}, but a "
        f"{entry.kind} must be a class; the plugin {entry.plugin!r} should register the class.",
        component=entry.qualified_name,
    )


def parameters(entry: Entry) -> Parameters:
    """The arguments ``entry``'s factory accepts (imports the target, even a rejected one; cached).

    Example:
        >>> import kreg
        >>> parameters(kreg.lookup("huber")).required
        []
    """
    state = _state(entry)
    if state.parameters is None:
        # Not gated by the contract: a rejected entry's arguments are worth showing too.
        made = state.factory or _make_factory(entry, load(entry))
        state.parameters = parameters_of(made)
    return state.parameters


def create(entry: Entry, config: dict[str, Any], *, warn: bool = True) -> Any:
    """Build a ready-to-use instance of ``entry`` with ``config`` (see :func:`kreg.get`).

    Raises only kreg's errors: whatever the component's own code raises while being
    built comes back as a :class:`~kreg.errors.ConfigError` naming the entry (and its
    plugin). The first build with ``warn`` (once per process) warns about known defects
    and saving gaps; the contract checks build with ``warn=False`` and report them.

    Example:
        >>> import kreg
        >>> type(create(kreg.lookup("huber"), {"delta": 2.0})).__name__
        'Huber'
    """
    state = _built.get(id(entry))
    make = state.factory if state is not None else None
    try:
        if make is None or state is None:
            make = factory(entry)
            state = _state(entry)
        if not config:
            built = make()
        else:
            config = legacy.translate(entry.kind, entry.name, load(entry), config)
            built = make(**config)
    except KregError:
        raise
    except Exception as error:
        raise _build_error(entry, config, error) from error
    if state.failure and not config:
        state.failure = None
    if state.notices is not None and warn:
        from kreg.registry.notices import saving_notice

        for notice in [*state.notices, *saving_notice(entry, built)]:
            warn_caller(notice)
        state.notices = None
    return built


def _build_error(entry: Entry, config: dict[str, Any], error: Exception) -> KregError:
    if isinstance(error, (TypeError, ValueError)):
        try:
            return explain_config_error(entry, config, error)
        except Exception:  # explaining must not fail in its turn (an unprintable value)
            pass
    try:
        detail = f"{type(error).__name__}: {error}"
    except Exception:
        detail = type(error).__name__
    detail = detail if len(detail) <= 300 else detail[:299] + "…"
    if not config:  # with the component's own defaults: the component's fault
        _state(entry).failure = ("build", f"raised {detail} when built")
    arguments = f" with {', '.join(map(str, config))}=..." if config else ""
    missing = missing_dependency(error)
    detail = detail.rstrip(".")
    if missing and "pip install" in detail:  # the library's own message says what to install
        hint = ""
    elif missing:
        hint = f" {missing[0].upper()}{missing[1:]}."
    elif entry.is_builtin:
        hint = ""
    else:
        hint = (
            f" Report it to the plugin {entry.plugin!r}, or hide it with "
            f"KREG_DISABLE_PLUGINS={entry.plugin}."
        )
    return ConfigError(
        f"{entry.kind} {entry.qualified_name!r} ({entry.target_path}) could not be "
        f"built{arguments}: {detail}.{hint}",
        component=entry.qualified_name,
    )


_RECEIVED = re.compile(r"Received:?\s*`?(\w+)`?\s*=")


def explain_config_error(entry: Entry, config: dict[str, Any], error: Exception) -> ConfigError:
    """Turn a construction failure into a :class:`ConfigError` naming the argument and fix.

    Example:
        >>> import kreg
        >>> explain_config_error(kreg.lookup("huber"), {"resuction": 1}, TypeError()).suggestion
        'reduction'
    """
    component = f"{entry.kind} {entry.name!r} ({entry.target_path})"
    accepted = parameters(entry)
    unknown = [k for k in config if k not in accepted]
    if unknown and not accepted.open_ended:
        key = unknown[0]
        close = suggest(key, {a.lower().replace("_", ""): a for a in accepted.names}, limit=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return ConfigError(
            f"{component} has no argument {key!r}.{hint} It accepts: {', '.join(accepted.names)}.",
            component=entry.name,
            argument=key,
            suggestion=close[0] if close else None,
        )
    missing = [r for r in accepted.required if r not in config]
    if missing:
        return ConfigError(
            f"{component} requires argument {missing[0]!r}; pass it, e.g. "
            f"kreg.get({entry.name!r}, {missing[0]}=...).",
            component=entry.name,
            argument=missing[0],
        )
    match = _RECEIVED.search(str(error))
    argument = match.group(1) if match and match.group(1) in config else None
    if argument is None:
        named = [k for k in config if re.search(rf"\b{re.escape(k)}\b", str(error))]
        argument = named[0] if named else None
    where = f" argument {argument}={config[argument]!r}" if argument else ""
    return ConfigError(
        f"{component} rejected{where or ' its arguments'}: {error}",
        component=entry.name,
        argument=argument,
    )
