"""What kreg tells a user the first time an entry is used: saving gaps and known defects.

A component that trains but would not survive save/load is handed out with a warning that
names the arguments and the consequence (and its ``get_config`` repaired where kreg can);
a bridge's declared defects are repeated with their reasons.
"""

from __future__ import annotations

import inspect
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.contracts.report import Report
    from kreg.registry.entry import Entry


def first_use_notices(entry: Entry, target: Any, structural: Report) -> list[str]:
    """What a user must hear when first using ``entry``: saving gaps (repaired where kreg
    can) and the known defects its plugin declared. ``structural`` is its structural report.

    Example:
        >>> import kreg, keras
        >>> entry = kreg.lookup("huber")
        >>> first_use_notices(entry, keras.losses.Huber, entry.structural_report())
        []
    """
    from kreg.contracts.structural import callable_class
    from kreg.kerasext.serialization import repair_class_config

    notices = []
    failed = [r for r in structural.failures if r.name == "config_covers_init"]
    # A get_config of the class's own can drop arguments too: the repair probes an instance.
    # (Keras's own classes are repaired when Keras is imported, silently: kreg's fix.)
    probed = not entry.is_builtin and inspect.isclass(target)
    probed = probed and not callable_class(target, entry.kind)
    repaired = repair_class_config(target, _example_config(entry)) if probed else []
    if failed or repaired:
        done = (
            f"kreg repaired get_config() in this process for {', '.join(repaired)}"
            if repaired
            else "kreg could not repair it"
        )
        problem = failed[0].message if failed else _dropped(target, repaired)
        kept = ", so models saved with kreg's objects keep them" if repaired else ""
        notices.append(
            f"{entry.qualified_name} trains, but as its author wrote it a saved model would "
            f"not keep all its arguments: {problem}. {done}{kept}; `kreg check "
            f"{entry.qualified_name}` shows the fix for its author (plugin {entry.plugin!r})."
        )
    notices += [
        f"{entry.qualified_name}: {reason} (a known defect, '{tag}', declared by the plugin "
        f"{entry.plugin!r}; `kreg check {entry.qualified_name}` shows it)"
        for tag, reason in entry.defects
    ]
    return notices


def saving_notice(entry: Entry, instance: Any) -> list[str]:
    """Why a model compiled with ``instance`` (the entry's first build) would not save or
    load, when it is not a ``get_config`` gap (those are told and repaired at first use).

    Example:
        >>> import kreg, keras
        >>> saving_notice(kreg.lookup("huber"), keras.losses.Huber())
        []
    """
    if entry.is_builtin:
        return []
    import keras

    from kreg.contracts.structural import callable_class

    target = entry.load()
    head = f"{entry.qualified_name} trains, but"
    tail = f"`kreg check {entry.qualified_name}` shows the fix for its author"
    plain = inspect.isclass(target) and callable_class(target, entry.kind)
    if plain or (getattr(instance, "fn", None) is not None and not inspect.isfunction(instance.fn)):
        return [
            f"{head} it is a plain callable, not a Keras class: Keras saves it by its name "
            f"only, so a saved model does not load; {tail}."
        ]
    try:
        serialized = keras.saving.serialize_keras_object(instance)
    except Exception as error:
        return [f"{head} model.save() raises {type(error).__name__}: {error}; {tail}."]
    registered = serialized.get("registered_name") if isinstance(serialized, dict) else None
    found = keras.saving.get_registered_object(registered) if registered else None
    if found is not None and inspect.isclass(found) and found is not type(instance):
        return [
            f"{head} Keras's registry maps its saved name {registered!r} to "
            f"{found.__module__}.{found.__qualname__}: a saved model loads that class "
            f"instead (or fails); {tail}."
        ]
    return []


def _dropped(cls: type, arguments: list[str]) -> str:
    """What a ``get_config`` that drops ``arguments`` does to a saved model."""
    parameters = inspect.signature(cls).parameters
    required = [
        a for a in arguments if a in parameters and parameters[a].default is inspect.Parameter.empty
    ]
    listed = ", ".join(map(repr, arguments))
    if required:
        consequence = (
            f"a saved model cannot be loaded (load_model fails: __init__ requires "
            f"{', '.join(map(repr, required))})"
        )
    else:
        consequence = "a saved model would reload with the defaults"
    return f"{cls.__qualname__}.get_config() does not return {listed}: {consequence}"


def _example_config(entry: Entry) -> dict[str, Any]:
    """The constructor arguments the entry's example passes (required ones), or {}."""
    try:
        made = entry.example() if callable(entry.example) else None
    except Exception:
        return {}
    config = made.get("config") if isinstance(made, dict) else getattr(made, "config", None)
    return dict(config) if isinstance(config, dict) else {}
