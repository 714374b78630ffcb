"""The component pickers of the compile widget: loss, optimizer, schedule, metrics, their forms."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from kreg.errors import KregError
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry
from kreg.ui.widgets.form import ArgumentForm, call_text, cell_name, label, name_of, plain_text

KINDS = ("loss", "optimizer", "schedule")
"""The kinds picked with one searchable picker each (metrics are a multi-select)."""


class ComponentPickers(w.VBox):
    """Searchable pickers for loss, optimizer and schedule, a metrics multi-select, and forms.

    Every choice shows a form generated from the component's arguments; the
    pickers write the compile lines of a ``%%kcompile`` cell.

    Example:
        >>> pickers = ComponentPickers(on_change=lambda: None)
        >>> pickers.pickers["loss"].value = "huber"
        >>> pickers.forms["loss"].inputs["delta"].value = 2.0
        >>> pickers.compile_lines()
        ['loss = huber(delta=2.0)', 'optimizer = adam']
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.on_change = on_change
        defaults = {"loss": "mean_squared_error", "optimizer": "adam", "schedule": ""}
        self.pickers = {kind: self._picker(kind, defaults[kind]) for kind in KINDS}
        self.forms = {kind: ArgumentForm(kind) for kind in KINDS}
        metric_names = [label(e) for e in CATALOG.entries("metric")]
        self.metrics = w.SelectMultiple(options=metric_names, description="metrics", rows=6)
        self.metrics.add_class("kreg-metrics")
        self.metric_forms: dict[str, ArgumentForm] = {}
        self.metric_box = w.VBox()
        for kind in KINDS:
            self._picked(kind)
        for kind, picker in self.pickers.items():
            picker.observe(lambda change, k=kind: self._picked(k), names="value")
            self.forms[kind].observe_changes(on_change)
        self.metrics.observe(lambda change: self._metrics_picked(), names="value")
        rows = [w.HBox([self.pickers[kind], self.forms[kind]]) for kind in KINDS]
        super().__init__([*rows, w.HBox([self.metrics, self.metric_box])])

    def _picker(self, kind: str, value: str) -> Any:
        options = [label(e) for e in CATALOG.entries(kind)]
        picker = w.Combobox(
            options=options,
            value=value,
            description=kind,
            placeholder=f"type to search {len(options)} {kind} names",
            ensure_option=False,
        )
        picker.add_class(f"kreg-{kind}")
        return picker

    def chosen(self, kind: str) -> str:
        """The picker's text for ``kind`` (a label, or what was typed), stripped."""
        return str(self.pickers[kind].value).strip()

    def _entry(self, kind: str) -> Entry | None:
        chosen = self.chosen(kind)
        if not chosen:
            return None
        try:
            return CATALOG.lookup(name_of(chosen), kind)
        except (KregError, KeyError):
            return None

    def _picked(self, kind: str) -> None:
        if kind == "optimizer":
            has_schedule = bool(self.chosen("schedule"))
            self.forms[kind].hidden = {"learning_rate"} if has_schedule else set()
        if kind == "schedule" and self.chosen("optimizer"):
            self._picked("optimizer")
        self.forms[kind].show(self._entry(kind))

    def _metrics_picked(self) -> None:
        forms = {}
        for picked in self.metrics.value:
            form = self.metric_forms.get(picked)
            if form is None:
                form = ArgumentForm("metric")
                form.show(CATALOG.lookup(name_of(picked), "metric"))
                form.observe_changes(self.on_change)
            forms[picked] = form
        self.metric_forms = forms
        self.metric_box.children = [
            w.VBox([w.HTML(f"<b>{html.escape(name)}</b>"), form]) for name, form in forms.items()
        ]
        self.on_change()

    def _component(self, kind: str) -> str | None:
        chosen = self.chosen(kind)
        if not chosen:
            return None
        return call_text(cell_name(chosen, kind), self.forms[kind].config())

    def compile_lines(self) -> list[str]:
        """The ``loss = ...``, ``optimizer = ...`` and ``metrics = [...]`` lines of the cell."""
        lines = []
        loss = self._component("loss")
        if loss:
            lines.append(f"loss = {loss}")
        optimizer = self._component("optimizer")
        schedule = self._component("schedule")
        if optimizer and schedule:
            inner = ", ".join(f"{k}={v!r}" for k, v in self.forms["optimizer"].config().items())
            name = cell_name(self.chosen("optimizer"), "optimizer")
            optimizer = f"{name}(learning_rate={schedule}{', ' + inner if inner else ''})"
        if optimizer:
            lines.append(f"optimizer = {optimizer}")
        if self.metrics.value:
            names = [
                call_text(cell_name(m, "metric"), self.metric_forms[m].config())
                for m in self.metrics.value
                if m in self.metric_forms
            ]
            lines.append(f"metrics = [{', '.join(names)}]")
        return lines

    def invalid(self) -> str | None:
        """The first form holding a value its component rejects, with the component's error."""
        forms = {**self.forms, **self.metric_forms}
        for name, form in forms.items():
            if not form.valid:
                return f"{name}: {plain_text(form.error.value)}"
        return None
