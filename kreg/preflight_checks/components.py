"""``compile``'s ``loss`` and ``metrics`` as preflight needs them: per output, with declarations.

Everything ``compile`` accepts is read: a name, a class instance, a function, or a
list/dict of them per output. Each becomes a :class:`Component`: the spelling to show,
the ``fix`` spelling, its :class:`~kreg.registry.expects.Expects` (from its catalogue
entry), and its config. A component kreg has no entry for is left out: no declaration,
no finding.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kreg.cell.spec import has_type
from kreg.registry.expects import Expects

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.registry.entry import Entry


@dataclass(frozen=True)
class Component:
    """One loss or metric of one output, with what its entry declares.

    Example:
        >>> c = Component("loss", "sparse_categorical_crossentropy",
        ...               Expects("class_ids", "distribution", logits="from_logits"),
        ...               {"from_logits": True})
        >>> c.y_pred, c.call(from_logits=False)
        ('logits', 'sparse_categorical_crossentropy(from_logits=False)')
    """

    kind: str
    name: str  # the catalogue's canonical name
    expects: Expects
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def y_pred(self) -> str:
        """What ``y_pred`` must be, given ``from_logits`` (or the declared argument)."""
        return self.expects.y_pred_for(self.config)

    def call(self, **changes: Any) -> str:
        """The cell spelling of this component with ``changes``, e.g. ``bce(from_logits=True)``."""
        if not changes:
            return self.name
        arguments = ", ".join(f"{k}={v!r}" for k, v in changes.items())
        return f"{self.name}({arguments})"


def per_output(value: Any, names: Sequence[str], kind: str) -> dict[str, list[Component]]:
    """``compile``'s ``loss`` (``kind="loss"``) or ``metrics`` as components per output name.

    Example:
        >>> import keras
        >>> found = per_output({"b": "mse"}, ["a", "b"], "loss")
        >>> [(k, [c.name for c in v]) for k, v in found.items()]
        [('a', []), ('b', ['mean_squared_error'])]
    """
    found: dict[str, list[Component]] = {name: [] for name in names}
    if value is None:
        return found
    if has_type(value, Mapping):
        for name, item in value.items():
            if name in found:
                found[name] += _many(item, kind)
        return found
    if kind == "loss" and has_type(value, (list, tuple)):
        for name, item in zip(names, value):
            found[name] += _many(item, kind)
        return found
    if kind == "metric" and has_type(value, (list, tuple)) and len(names) > 1:
        if all(has_type(item, (list, tuple)) or item is None for item in value):
            for name, item in zip(names, value):
                found[name] += _many(item, kind)
            return found
    for name in names:
        found[name] += _many(value, kind)
    return found


def _many(value: Any, kind: str) -> list[Component]:
    items = value if has_type(value, (list, tuple)) else [value]
    components = []
    for item in items:
        component = component_of(item, kind)
        if component is not None:
            components.append(component)
    return components


def component_of(value: Any, kind: str) -> Component | None:
    """The :class:`Component` for one ``compile`` value, or None if kreg has no declaration.

    Example:
        >>> import keras
        >>> component_of(keras.losses.BinaryCrossentropy(from_logits=True), "loss").y_pred
        'logits'
        >>> component_of("acc", "metric").name
        'accuracy'
        >>> component_of(lambda y_true, y_pred: y_pred, "loss") is None
        True
    """
    entry = _entry_for(value, kind)
    if entry is None or entry.expects is None:
        return None
    return Component(kind, entry.name, entry.expects, _config(value))


def _entry_for(value: Any, kind: str) -> Entry | None:
    from kreg.registry.catalog import CATALOG

    if has_type(value, str):
        try:
            return CATALOG.lookup(value, kind=kind)
        except Exception:  # an unknown name: compile will say so, preflight has no view
            return None
    target = value if has_type(value, type) or _is_function(value) else type(value)
    module, name = getattr(target, "__module__", ""), getattr(target, "__qualname__", "")
    wanted = f"{module}:{name}"
    for entry in CATALOG.entries(kind=kind):
        if entry.target is target or entry.target == wanted or _reexported(entry, target):
            return entry
    if _is_function(value) and module.startswith("keras."):
        try:  # keras.losses.sparse_categorical_crossentropy: an alias of its class's entry
            return CATALOG.lookup(name, kind=kind)
        except Exception:
            return None
    return None


def _reexported(entry: Entry, target: Any) -> bool:
    """Whether a lazy ``"package.module:Name"`` entry names ``target`` through a re-export
    (``keras_proba.metrics:BrierScore`` is ``keras_proba.metrics.calibration.BrierScore``).
    Only modules already imported are read: preflight imports nothing."""
    if not has_type(entry.target, str):
        return False
    module_name, _, attribute = entry.target.partition(":")
    module = sys.modules.get(module_name)
    return module is not None and getattr(module, attribute, None) is target


def _is_function(value: Any) -> bool:
    return type(value).__name__ in ("function", "builtin_function_or_method")


def _config(value: Any) -> dict[str, Any]:
    """The constructor arguments of an instance (``get_config``), ``{}`` for names/functions."""
    if has_type(value, (str, type)) or _is_function(value):
        return {}
    try:
        config = value.get_config()
    except Exception:
        return {}
    return dict(config) if has_type(config, Mapping) else {}
