"""Forms generated from a component's arguments, and how the widgets spell picked entries."""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from kreg.errors import KregError
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry
from kreg.registry.parameters import Parameter

_HIDDEN = {"name", "dtype", "kwargs", "self"}
_REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "none"]


def label(entry: Entry) -> str:
    """How a picker shows an entry: its name, and its provider when that is not Keras.

    Example:
        >>> import kreg
        >>> label(kreg.lookup("huber")), label(kreg.lookup("quantile"))
        ('huber', 'quantile · contrib')
    """
    return entry.name if entry.is_builtin else f"{entry.name} · {entry.plugin}"


def name_of(label: str) -> str:
    """The registry spelling behind a picker label (``name · plugin`` -> ``plugin:name``).

    Example:
        >>> name_of("quantile · contrib"), name_of("huber")
        ('contrib:quantile', 'huber')
    """
    name, _, plugin = label.partition(" · ")
    return f"{plugin}:{name}" if plugin else name


def cell_name(label: str, kind: str) -> str:
    """How the cell spells a picked entry: its plain name when that reaches it, else quoted.

    Example:
        >>> cell_name("huber", "loss")
        'huber'
    """
    qualified = name_of(label)
    name = label.partition(" · ")[0]
    try:
        if CATALOG.lookup(name, kind) is CATALOG.lookup(qualified, kind):
            return name
    except (KregError, KeyError):
        pass
    return repr(qualified)


def _parameters(entry: Entry) -> list[Parameter]:
    """The keyword arguments a form shows for ``entry`` (its class's own signature)."""
    return [p for p in entry.parameters().own if p.name not in _HIDDEN]


class ArgumentForm(w.VBox):
    """Typed inputs for one component's arguments, rebuilt when the component changes.

    Only values that differ from the defaults go into :meth:`config`; a value the
    component rejects shows the component's own error under the form.

    Example:
        >>> import kreg
        >>> form = ArgumentForm("loss")
        >>> form.show(kreg.lookup("huber"))
        >>> form.inputs["delta"].value = 2.5
        >>> form.config(), form.valid
        ({'delta': 2.5}, True)
    """

    def __init__(self, kind: str, hidden: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.kind, self.hidden = kind, set(hidden)
        self.entry: Entry | None = None
        self.inputs: dict[str, Any] = {}
        self.defaults: dict[str, Any] = {}
        self.error = w.HTML()
        self.error.add_class("kreg-error")
        self.valid = True
        self._listeners: list[Callable[[], None]] = []
        self.add_class(f"kreg-form-{kind}")

    def observe_changes(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever an input changes."""
        self._listeners.append(callback)

    def show(self, entry: Entry | None) -> None:
        """Rebuild the inputs for ``entry`` (None: no inputs); the same entry keeps its values."""
        kept = {k: c.value for k, c in self.inputs.items()} if entry is self.entry else {}
        self.entry, self.inputs, self.defaults = entry, {}, {}
        rows = []
        if entry is not None:
            for parameter in _parameters(entry):
                if parameter.name in self.hidden:
                    continue
                control = self._input(parameter)
                if parameter.name in kept:
                    control.value = kept[parameter.name]
                control.observe(self._changed, names="value")
                self.inputs[parameter.name] = control
                rows.append(control)
        self.children = [*rows, self.error]
        self._changed()

    def _input(self, parameter: Parameter) -> Any:
        name, default = parameter.name, parameter.default
        style = {"description_width": "initial"}
        required = parameter.required
        self.defaults[name] = None if required else default
        if isinstance(default, bool):
            return w.Checkbox(value=default, description=name, indent=False)
        if isinstance(default, int):
            return w.IntText(value=default, description=name, style=style)
        if isinstance(default, float):
            return w.FloatText(value=default, description=name, style=style)
        if name == "reduction":
            options = list(dict.fromkeys([default, *_REDUCTIONS]))
            return w.Dropdown(options=options, value=default, description=name, style=style)
        shown = "required" if required else f"default: {default!r}"
        value = default if isinstance(default, str) else ""
        return w.Text(value=value, placeholder=shown, description=name, style=style)

    def config(self) -> dict[str, Any]:
        """The arguments that differ from the defaults, as Python values."""
        found = {}
        for name, control in self.inputs.items():
            value = control.value
            if isinstance(control, w.Text):
                text = value.strip()
                if not text or text == self.defaults[name]:
                    continue
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    value = text
            if value != self.defaults[name]:
                found[name] = value
        return found

    def _changed(self, *_: Any) -> None:
        self.valid, self.error.value = True, ""
        if self.entry is not None:
            try:
                self.entry.create(self.config())
            except Exception as error:
                self.valid = False
                self.error.value = f"<span style='color:#cf222e'>{html.escape(str(error))}</span>"
        for listener in self._listeners:
            listener()


def plain_text(markup: str) -> str:
    """``markup`` without its HTML tags and entities.

    Example:
        >>> plain_text("<span style='color:red'>a &lt; b</span>")
        'a < b'
    """
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def call_text(name: str, config: dict[str, Any]) -> str:
    """How a cell writes a component with arguments.

    Example:
        >>> call_text("huber", {"delta": 2.0}), call_text("mae", {})
        ('huber(delta=2.0)', 'mae')
    """
    arguments = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return f"{name}({arguments})" if config else name


def button(text: str, css: str, handler: Any) -> Any:
    """A ``Button`` with a CSS class (the browser tests find it by) and its click handler.

    Example:
        >>> button("Train", "kreg-train", print).description
        'Train'
    """
    made = w.Button(description=text)
    made.add_class(css)
    made.on_click(handler)
    return made
