"""The compile widget's "Compare with…" control: collect forms, then train them side by side.

"Compare with…" keeps the form's compile settings as they are now as an alternative;
change the form and add more, then "Compare" trains every alternative (and the form as
it is now, when it differs from them all) with :func:`kreg.compare`: each run on a copy of
the model from the same weights and data order, under one figure in the widget. The
widget's model is left as it was; ``control.runset`` holds the result.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as w

from kreg.errors import KregError
from kreg.ui.widgets.form import button


class CompareControl(w.VBox):
    """The "Compare with…", "Compare" and "Clear" buttons, the alternatives and the table.

    Example:
        >>> import keras, numpy as np
        >>> from kreg.ui.widgets import CompileWidget
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> ui = CompileWidget(model, np.zeros((8, 2)), np.zeros((8, 1)))
        >>> ui.comparing.add_button.click(); ui.comparing.alternatives[0][0]
        'loss = mean_squared_error'
    """

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.alternatives: list[list[str]] = []
        self.runset: Any = None
        self._thread: threading.Thread | None = None
        self.add_button = button("Compare with…", "kreg-compare-add", self._add)
        self.run_button = button("Compare", "kreg-compare-run", self._run)
        self.clear_button = button("Clear", "kreg-compare-clear", self._clear)
        self.listing = w.HTML()
        self.listing.add_class("kreg-compare-list")
        self.table = w.HTML()
        self.table.add_class("kreg-compare-table")
        super().__init__(
            [
                w.HBox([self.add_button, self.run_button, self.clear_button]),
                self.listing,
                self.table,
            ]
        )
        self._refresh()

    def specs(self) -> list[str]:
        """Each alternative as cell lines, and the form as it is now unless already there."""
        current = self.owner.components.compile_lines()
        found = list(self.alternatives)
        if current not in found:
            found.append(current)
        return ["\n".join(lines) for lines in found]

    def _add(self, _: object = None) -> None:
        invalid = self.owner.components.invalid()
        if invalid:
            self.owner._say(invalid, error=True)
            return
        lines = self.owner.components.compile_lines()
        if lines not in self.alternatives:
            self.alternatives.append(lines)
        self._refresh()
        self.owner._say(
            f"{len(self.alternatives)} alternative(s) kept: change the form and add more, or "
            "click Compare"
        )

    def _clear(self, _: object = None) -> None:
        self.alternatives = []
        self._refresh()

    def _refresh(self) -> None:
        items = "".join(
            f"<li><code>{html.escape('; '.join(lines))}</code></li>" for lines in self.alternatives
        )
        self.listing.value = f"<ol>{items}</ol>" if items else ""
        self.run_button.disabled = not self.alternatives

    def _run(self, _: object = None) -> None:
        owner = self.owner
        specs = self.specs()
        if len(specs) < 2:
            owner._say("add another alternative first: change the form, then Compare with…")
            return
        if owner.x is None:
            owner._say("no training data: CompileWidget(model, x, y)", error=True)
            return
        fit: dict[str, Any] = {
            "x": owner.x,
            "epochs": owner.epochs.value,
            "batch_size": owner.batch_size.value,
        }
        if owner.y is not None:
            fit["y"] = owner.y
        if owner.validation_data is not None:
            fit["validation_data"] = owner.validation_data
        elif owner.validation_split.value:
            fit["validation_split"] = owner.validation_split.value
        owner._running(True)
        self.run_button.disabled = True
        self._thread = threading.Thread(
            target=self._train, args=(specs, fit), name="kreg-compare", daemon=True
        )
        self._thread.start()

    def _train(self, specs: list[str], fit: dict[str, Any]) -> None:
        from kreg.ui.comparison import compare

        owner = self.owner

        def line(text: str) -> None:
            owner.progress_line.value = html.escape(text)

        def figure(png: bytes) -> None:
            owner.plot.value = png

        try:
            runset = compare(
                owner.model,
                specs,
                options=owner.options(),
                mode="off",
                on_line=line,
                on_figure=figure,
                **fit,
            )
        except KregError as error:
            owner._say(str(error), error=True)
            return
        except Exception as error:
            owner._say(f"the comparison failed: {type(error).__name__}: {error}", error=True)
            return
        finally:
            owner._running(False)
            self._refresh()
        self.runset = runset
        self.table.value = runset._repr_html_()
        best = runset.ranked()[0]
        owner._say(
            f"compared {len(runset.runs)} runs; best by {runset.rank_by}: {runset.labels[best]}"
        )

    def wait(self, timeout: float | None = None) -> None:
        """Block until a comparison started from the widget has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
