"""``Browser``: search the catalogue, see an entry's details, run its contract checks."""

from __future__ import annotations

import html

import ipywidgets as w

from kreg.registry.catalog import CATALOG
from kreg.registry.checking import check_entry
from kreg.registry.entry import Entry
from kreg.ui.describe import signature


class Browser(w.VBox):
    """A searchable catalogue of every entry, with its details and contract report.

    Example:
        >>> browser = Browser()
        >>> browser.search.value = "huber"
        >>> browser.results.options[0]
        'huber · loss · keras'
    """

    def __init__(self) -> None:
        self.search = w.Text(placeholder="search names, aliases, summaries", description="search")
        self.kind = w.ToggleButtons(options=["all", "loss", "metric", "optimizer", "schedule"])
        self.results = w.Select(options=[], rows=12, layout=w.Layout(width="32em"))
        self.details = w.HTML()
        self.check_button = w.Button(description="Check")
        self.check_button.add_class("kreg-check")
        self.report = w.HTML()
        self._entries: dict[str, Entry] = {}
        self.search.observe(lambda change: self._filter(), names="value")
        self.kind.observe(lambda change: self._filter(), names="value")
        self.results.observe(lambda change: self._select(), names="value")
        self.check_button.on_click(lambda _: self._check())
        super().__init__(
            [
                w.HBox([self.search, self.kind]),
                w.HBox([self.results, w.VBox([self.details, self.check_button])]),
                self.report,
            ]
        )
        self.add_class("kreg-browser")
        self._filter()

    def _filter(self) -> None:
        words = self.search.value.lower().split()
        kind = None if self.kind.value == "all" else self.kind.value
        found = {}
        for entry in CATALOG.entries(kind):
            text = " ".join([entry.name, *entry.aliases, entry.plugin, entry.summary]).lower()
            if all(word in text for word in words):
                found[f"{entry.name} · {entry.kind} · {entry.plugin}"] = entry
        self._entries = found
        self.results.options = list(found)

    def _select(self) -> None:
        entry = self._entries.get(self.results.value)
        self.report.value = ""
        if entry is None:
            self.details.value = ""
            return
        rows = {
            "name": entry.qualified_name,
            "kind": entry.kind,
            "provider": f"{entry.plugin} {entry.plugin_version or ''}",
            "signature": signature(entry),
            "aliases": ", ".join(entry.aliases) or "-",
            "summary": entry.summary,
        }
        self.details.value = (
            "<table>"
            + "".join(
                f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>"
                f"{html.escape(str(v))}</td></tr>"
                for k, v in rows.items()
            )
            + "</table>"
        )

    def _check(self) -> None:
        entry = self._entries.get(self.results.value)
        if entry is None:
            self.report.value = "pick an entry first"
            return
        self.report.value = check_entry(entry)._repr_html_()
