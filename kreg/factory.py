"""Turn an entry plus keyword arguments into a ready-to-use Keras object.

The plain path (``kreg.get("huber")``) costs one call; argument checking,
legacy translation and error diagnosis only run when arguments are given or
construction fails.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kreg import legacy
from kreg.errors import ConfigError
from kreg.names import suggest

if TYPE_CHECKING:
    from kreg.registry import Entry

BUILTIN_PLUGIN = "keras"


def make_factory(entry: Entry) -> Callable[..., Any]:
    """Return the callable that builds instances for ``entry`` (imports its target).

    Example:
        >>> import kreg
        >>> make_factory(kreg.lookup("huber")).__name__
        'Huber'
    """
    target = entry.load()
    from kreg import keras_objects

    if entry.plugin != BUILTIN_PLUGIN:
        keras_objects.make_serializable(target, entry.plugin)
    if inspect.isclass(target):
        return target
    if entry.kind in ("loss", "metric") and callable(target):
        return keras_objects.function_factory(target, entry.kind, entry.name)
    raise ConfigError(
        f"{entry.kind} {entry.qualified_name!r} is registered as {target!r}, but a "
        f"{entry.kind} must be a class; the plugin {entry.plugin!r} should register the class.",
        component=entry.qualified_name,
    )


def create_with_config(entry: Entry, factory: Callable[..., Any], config: dict[str, Any]) -> Any:
    """Build ``entry`` with ``config``: legacy arguments mapped, errors explained."""
    target = entry.load()
    config = legacy.translate(entry.kind, entry.name, target, config)
    try:
        return factory(**config)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise explain_config_error(entry, config, error) from error


def accepted_arguments(factory: Callable[..., Any]) -> tuple[list[str], list[str], bool]:
    """``(accepted, required, open_ended)`` keyword arguments of a factory.

    Classes whose ``__init__`` passes ``**kwargs`` upwards are followed along
    their bases, as Keras optimizers forward to ``Optimizer.__init__``.

    Example:
        >>> import keras
        >>> accepted, required, open_ended = accepted_arguments(keras.metrics.PrecisionAtRecall)
        >>> required, open_ended
        (['recall'], False)
    """
    if inspect.isclass(factory):
        inits = [
            c.__dict__["__init__"] for c in inspect.getmro(factory) if "__init__" in c.__dict__
        ]
    else:
        inits = [factory]
    accepted: list[str] = []
    required: list[str] = []
    open_ended = True
    for position, init in enumerate(inits):
        if init is object.__init__:
            open_ended = False
            break
        try:
            parameters = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            break
        if inspect.isclass(factory) and parameters:
            parameters = parameters[1:]
        for parameter in parameters:
            if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                continue
            if parameter.name not in accepted:
                accepted.append(parameter.name)
            if position == 0 and parameter.default is parameter.empty:
                required.append(parameter.name)
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            open_ended = False
            break
    return accepted, required, open_ended


_RECEIVED = re.compile(r"Received:?\s*`?(\w+)`?\s*=")


def explain_config_error(entry: Entry, config: dict[str, Any], error: Exception) -> Exception:
    """Turn a construction failure into a :class:`ConfigError` naming the argument and fix."""
    component = f"{entry.kind} {entry.name!r} ({entry.target_path})"
    factory = entry._factory or entry.load()
    accepted, required, open_ended = accepted_arguments(factory)
    unknown = [k for k in config if k not in accepted]
    if unknown and not open_ended:
        key = unknown[0]
        close = suggest(key, {a.lower().replace("_", ""): a for a in accepted}, limit=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return ConfigError(
            f"{component} has no argument {key!r}.{hint} It accepts: {', '.join(accepted)}.",
            component=entry.name,
            argument=key,
            suggestion=close[0] if close else None,
        )
    missing = [r for r in required if r not in config]
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
