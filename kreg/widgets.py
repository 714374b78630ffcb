"""Widgets: compile and train from a form (:class:`CompileWidget`); browse the registry.

Both sit on the same pieces as ``%%kcompile``: the form writes a cell, which
is parsed and resolved exactly as the magic does (so "As %%kcompile" pasted
into a notebook gives the same compile), and training goes through
:func:`kreg.train.train` with a live view drawn inside the widget. Training
runs on a background thread, so the Stop button works while it runs.
"""

from __future__ import annotations

import ast
import html
import inspect
import threading
from typing import Any

import ipywidgets as w

from kreg import api
from kreg.errors import CellError, KregError

_HIDDEN = {"name", "dtype", "kwargs", "self"}
_REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "none"]


def _label(entry: Any) -> str:
    return entry.name if entry.plugin == "keras" else f"{entry.name} · {entry.plugin}"


def _name_of(label: str) -> str:
    """The registry spelling behind a picker label (``name · plugin`` -> ``plugin:name``)."""
    name, _, plugin = label.partition(" · ")
    return f"{plugin}:{name}" if plugin else name


def _cell_name(label: str, kind: str) -> str:
    """How the cell spells a picked entry: its plain name when that reaches it, else quoted."""
    qualified = _name_of(label)
    name = label.partition(" · ")[0]
    try:
        if api.lookup(name, kind).qualified_name == api.lookup(qualified, kind).qualified_name:
            return name
    except (KregError, KeyError):
        pass
    return repr(qualified)


def _parameters(entry: Any) -> list[inspect.Parameter]:
    """The keyword arguments a form shows for ``entry`` (its class's own signature)."""
    from kreg.factory import make_factory

    factory = make_factory(entry)
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return []
    if inspect.isclass(factory):
        parameters = parameters[1:]
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in parameters if p.kind not in variadic and p.name not in _HIDDEN]


class ArgumentForm(w.VBox):
    """Typed inputs for one component's arguments, rebuilt when the component changes.

    Only values that differ from the defaults go into :meth:`config`; a value the
    component rejects shows the component's own error under the form.

    Example:
        >>> form = ArgumentForm("loss")
        >>> form.show(api.lookup("huber"))
        >>> form.inputs["delta"].value = 2.5
        >>> form.config(), form.valid
        ({'delta': 2.5}, True)
    """

    def __init__(self, kind: str, hidden: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.kind, self.hidden = kind, set(hidden)
        self.entry: Any = None
        self.inputs: dict[str, Any] = {}
        self.defaults: dict[str, Any] = {}
        self.error = w.HTML()
        self.error.add_class("kreg-error")
        self.valid = True
        self._listeners: list[Any] = []
        self.add_class(f"kreg-form-{kind}")

    def observe_changes(self, callback: Any) -> None:
        """Call ``callback()`` whenever an input changes."""
        self._listeners.append(callback)

    def show(self, entry: Any) -> None:
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

    def _input(self, parameter: inspect.Parameter) -> Any:
        name, default = parameter.name, parameter.default
        style = {"description_width": "initial"}
        required = default is inspect.Parameter.empty
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


def _text(markup: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", markup)


def _call(name: str, config: dict[str, Any]) -> str:
    arguments = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return f"{name}({arguments})" if config else name


class CompileWidget(w.VBox):
    """Pick a loss, optimizer, schedule and metrics; compile, train and stop from a form.

    ``x``/``y``/``validation_data`` are the training data; the names used in
    the generated cell are found in the notebook's namespace when the objects are
    there, else ``x_train``/``y_train``.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> ui = CompileWidget(model, np.zeros((8, 2)), np.zeros((8, 1)), epochs=1)
        >>> ui.loss.value = "huber"
        >>> "loss = huber" in ui.as_cell()
        True
    """

    def __init__(
        self,
        model: Any,
        x: Any = None,
        y: Any = None,
        validation_data: Any = None,
        *,
        epochs: int = 3,
        batch_size: int = 32,
        validation_split: float = 0.0,
        model_name: str | None = None,
    ) -> None:
        self.model, self.x, self.y, self.validation_data = model, x, y, validation_data
        self.names = {
            "model": model_name or _variable_name(model, "model"),
            "x": _variable_name(x, "x_train"),
            "y": _variable_name(y, "y_train"),
            "validation_data": _variable_name(validation_data, "validation_data"),
        }
        self.run: Any = None
        self._thread: threading.Thread | None = None
        self.loss = self._picker("loss", "mean_squared_error")
        self.optimizer = self._picker("optimizer", "adam")
        self.schedule = self._picker("schedule", "")
        metric_names = [_label(e) for e in api.entries("metric")]
        self.metrics = w.SelectMultiple(options=metric_names, description="metrics", rows=6)
        self.metrics.add_class("kreg-metrics")
        self.metric_forms: dict[str, ArgumentForm] = {}
        self.metric_box = w.VBox()
        self.forms = {
            "loss": ArgumentForm("loss"),
            "optimizer": ArgumentForm("optimizer"),
            "schedule": ArgumentForm("schedule"),
        }
        self.epochs = w.IntText(value=epochs, description="epochs")
        self.batch_size = w.IntText(value=batch_size, description="batch size")
        self.validation_split = w.BoundedFloatText(
            value=validation_split, min=0.0, max=0.95, step=0.05, description="validation split"
        )
        self.compile_button = self._button("Compile", "kreg-compile", self._compile_clicked)
        self.train_button = self._button("Train", "kreg-train", self._train_clicked)
        self.stop_button = self._button("Stop", "kreg-stop", self._stop_clicked)
        self.stop_button.disabled = True
        self.export_path = w.Text(value=f"exports/{self.names['model']}", description="export to")
        self.export_path.add_class("kreg-export-path")
        self.export_button = self._button("Export", "kreg-export", self._export_clicked)
        self.export_button.disabled = True
        self.status = w.HTML("ready")
        self.status.add_class("kreg-status")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="")
        self.progress.add_class("kreg-progress")
        self.progress_line = w.HTML()
        self.plot = w.Image(format="png")
        self.plot.add_class("kreg-plot")
        self.cell_view = w.Textarea(layout=w.Layout(width="100%", height="14em"))
        self.code_view = w.Textarea(layout=w.Layout(width="100%", height="14em"))
        views = w.Tab(
            children=[self.cell_view, self.code_view], titles=("As %%kcompile", "As Keras code")
        )
        self.views = views
        for kind, picker in (
            ("loss", self.loss),
            ("optimizer", self.optimizer),
            ("schedule", self.schedule),
        ):
            picker.observe(lambda change, k=kind: self._picked(k), names="value")
            self.forms[kind].observe_changes(self._refresh_views)
        self.metrics.observe(lambda change: self._metrics_picked(), names="value")
        for control in (self.epochs, self.batch_size, self.validation_split):
            control.observe(lambda change: self._refresh_views(), names="value")
        pickers = w.VBox(
            [
                w.HBox([self.loss, self.forms["loss"]]),
                w.HBox([self.optimizer, self.forms["optimizer"]]),
                w.HBox([self.schedule, self.forms["schedule"]]),
                w.HBox([self.metrics, self.metric_box]),
                w.HBox([self.epochs, self.batch_size, self.validation_split]),
            ]
        )
        buttons = w.HBox(
            [
                self.compile_button,
                self.train_button,
                self.stop_button,
                self.export_path,
                self.export_button,
            ]
        )
        super().__init__(
            [pickers, buttons, self.status, self.progress, self.progress_line, self.plot, views]
        )
        self.add_class("kreg-compile-widget")
        for kind in self.forms:
            self._picked(kind)

    # -- building blocks ------------------------------------------------------------------

    def _picker(self, kind: str, value: str) -> Any:
        options = [_label(e) for e in api.entries(kind)]
        picker = w.Combobox(
            options=options,
            value=value,
            description=kind,
            placeholder=f"type to search {len(options)} {kind} names",
            ensure_option=False,
        )
        picker.add_class(f"kreg-{kind}")
        return picker

    def _button(self, text: str, css: str, handler: Any) -> Any:
        button = w.Button(description=text)
        button.add_class(css)
        button.on_click(handler)
        return button

    def _entry(self, kind: str) -> Any:
        label = getattr(self, kind).value.strip()
        if not label:
            return None
        try:
            return api.lookup(_name_of(label), kind)
        except (KregError, KeyError):
            return None

    def _picked(self, kind: str) -> None:
        entry = self._entry(kind)
        if kind == "optimizer":
            has_schedule = bool(self.schedule.value.strip())
            self.forms[kind].hidden = {"learning_rate"} if has_schedule else set()
        if kind == "schedule" and self.optimizer.value.strip():
            self._picked("optimizer")
        self.forms[kind].show(entry)

    def _metrics_picked(self) -> None:
        forms = {}
        for label in self.metrics.value:
            form = self.metric_forms.get(label)
            if form is None:
                form = ArgumentForm("metric")
                form.show(api.lookup(_name_of(label), "metric"))
                form.observe_changes(self._refresh_views)
            forms[label] = form
        self.metric_forms = forms
        self.metric_box.children = [
            w.VBox([w.HTML(f"<b>{html.escape(label)}</b>"), form]) for label, form in forms.items()
        ]
        self._refresh_views()

    # -- the cell -------------------------------------------------------------------------

    def _component(self, kind: str) -> str | None:
        label = getattr(self, kind).value.strip()
        if not label:
            return None
        return _call(_cell_name(label, kind), self.forms[kind].config())

    def as_cell(self, train: bool = True) -> str:
        """The ``%%kcompile`` cell that does what the form says (Train, or Compile only)."""
        lines = [f"%%kcompile {self.names['model']}"]
        loss = self._component("loss")
        if loss:
            lines.append(f"loss = {loss}")
        optimizer = self._component("optimizer")
        schedule = self._component("schedule")
        if optimizer and schedule:
            config = {**self.forms["optimizer"].config()}
            inner = ", ".join(f"{k}={v!r}" for k, v in config.items())
            name = _cell_name(self.optimizer.value.strip(), "optimizer")
            optimizer = f"{name}(learning_rate={schedule}{', ' + inner if inner else ''})"
        if optimizer:
            lines.append(f"optimizer = {optimizer}")
        if self.metrics.value:
            names = [
                _call(_cell_name(m, "metric"), self.metric_forms[m].config())
                for m in self.metrics.value
                if m in self.metric_forms
            ]
            lines.append(f"metrics = [{', '.join(names)}]")
        if train and self.x is not None:
            lines.append(f"x = {self.names['x']}")
            if self.y is not None:
                lines.append(f"y = {self.names['y']}")
            if self.validation_data is not None:
                lines.append(f"validation_data = {self.names['validation_data']}")
            lines.append(f"epochs = {self.epochs.value}")
            lines.append(f"batch_size = {self.batch_size.value}")
            if self.validation_split.value and self.validation_data is None:
                lines.append(f"validation_split = {self.validation_split.value:g}")
        return "\n".join(lines)

    def _namespace(self) -> dict[str, Any]:
        return {
            self.names["x"]: self.x,
            self.names["y"]: self.y,
            self.names["validation_data"]: self.validation_data,
        }

    def resolve(self, train: bool = True) -> Any:
        """Parse and resolve the form's cell exactly as ``%%kcompile`` does.

        Raises:
            KregError: an invalid setting (the message names it); the model is untouched.
        """
        from kreg.cellparse import parse_cell
        from kreg.spec import resolve_cell

        forms = {**self.forms, **self.metric_forms}
        invalid = [k for k, form in forms.items() if not form.valid]
        if invalid:
            raise KregError(f"{invalid[0]}: {html.unescape(_text(forms[invalid[0]].error.value))}")
        body = self.as_cell(train).partition("\n")[2]
        try:
            return resolve_cell(parse_cell(body), self._namespace())
        except CellError as error:
            raise KregError(error.reason) from None

    def _refresh_views(self) -> None:
        self.cell_view.value = self.as_cell()
        try:
            spec = self.resolve()
        except KregError as error:
            self.code_view.value = f"# not valid yet: {error}"
            return
        self.code_view.value = spec.to_code(self.names["model"])

    # -- actions --------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#cf222e" if error else "inherit"
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def _compile_clicked(self, _: Any = None) -> None:
        from kreg import train

        try:
            spec = self.resolve(train=False)
            placement = train.place("auto", self.model)
            with placement.strategy.scope():
                run = train.train(self.model, spec, train.Options(), placement, self.names["model"])
        except KregError as error:
            self._say(str(error), error=True)
            return
        except Exception as error:
            self._say(f"Keras refused the configuration: {error}", error=True)
            return
        self.run = run
        self.export_button.disabled = False
        self._say(f"compiled: {run.device} · loss={_name_of(self.loss.value.strip())}")

    def _train_clicked(self, _: Any = None) -> None:
        from kreg import train

        if self.x is None:
            self._say("no training data: CompileWidget(model, x, y)", error=True)
            return
        try:
            spec = self.resolve(train=True)
            placement = train.place("auto", self.model)
        except KregError as error:
            self._say(str(error), error=True)
            return
        self._running(True)
        self._thread = threading.Thread(
            target=self._train, args=(spec, placement), name="kreg-train", daemon=True
        )
        self._thread.start()

    def _train(self, spec: Any, placement: Any) -> None:
        from kreg import train
        from kreg.notebook.widget_view import WidgetView

        steps = train.steps_per_epoch(spec.fit_args)
        epochs = spec.fit_args.get("epochs", 1)
        view = WidgetView(
            self, epochs=epochs, steps_per_epoch=steps, batch_size=self.batch_size.value
        )
        loss_name = _name_of(self.loss.value.strip())
        try:
            with placement.strategy.scope():
                run = train.train(
                    self.model, spec, train.Options(), placement, self.names["model"], view=view
                )
        except Exception as error:
            self._say(f"training failed: {type(error).__name__}: {error}", error=True)
            self._running(False)
            return
        self.run = run
        done = len(run.history.get("loss", []))
        how = f"stopped: {run.stopped}" if run.stopped else f"done: {done} epochs"
        self._say(f"{how} · loss={loss_name} · history: {done} epochs · {run.wall_seconds:.1f} s")
        self._running(False)

    def _export_clicked(self, _: Any = None) -> None:
        if self.run is None:
            self._say("nothing to export yet: compile or train first", error=True)
            return
        try:
            folder = self.run.export(self.export_path.value.strip())
        except KregError as error:
            self._say(str(error), error=True)
            return
        except OSError as error:
            self._say(f"cannot write the export: {error}", error=True)
            return
        self._say(f"exported to {folder}; train it anywhere with: kreg train {folder}")

    def _stop_clicked(self, _: Any = None) -> None:
        self.model.stop_training = True
        self._say("stopping after the current step…")

    def _running(self, running: bool) -> None:
        self.compile_button.disabled = running
        self.export_button.disabled = running or self.run is None
        self.train_button.disabled = running
        self.stop_button.disabled = not running

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background training run has finished (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)


def _variable_name(obj: Any, fallback: str) -> str:
    if obj is None:
        return fallback
    try:
        from IPython import get_ipython
    except ImportError:
        return fallback
    shell = get_ipython()
    if shell is None:
        return fallback
    for name, value in shell.user_ns.items():
        if value is obj and not name.startswith("_"):
            return name
    return fallback


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
        self._entries: dict[str, Any] = {}
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
        for entry in api.entries(kind):
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
        from kreg.cli import _signature

        rows = {
            "name": entry.qualified_name,
            "kind": entry.kind,
            "provider": f"{entry.plugin} {entry.plugin_version or ''}",
            "signature": _signature(entry),
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
        from kreg.contracts import check

        self.report.value = check(entry)._repr_html_()
