"""``CompileWidget``: compile, train, stop and export from a form, exactly as ``%%kcompile`` does.

The form writes a ``%%kcompile`` cell (tab "As %%kcompile"), and Compile and Train run
that cell through :func:`kreg.training.runner.plan_cell` and
:func:`~kreg.training.runner.run_cell`, the path the magic takes: the same resolution,
the same strategy and precision rebuild, the same fault handling. Training runs on a
background thread, so the Stop button works while it runs.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as w

from kreg.cell.parse import parse_cell
from kreg.cell.resolve import resolve_cell
from kreg.errors import KregError, TrainingFault
from kreg.preflight_checks import Preflight, preflight_spec
from kreg.training.options import STRATEGIES, RunOptions
from kreg.training.run import Run
from kreg.training.runner import Plan, plan_cell, run_cell
from kreg.training.view import TrainingView, ViewSettings
from kreg.ui.widgets.comparing import CompareControl
from kreg.ui.widgets.form import button
from kreg.ui.widgets.pickers import ComponentPickers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.ui.liveview import LiveView

_SHOWN_STRATEGIES = [s for s in STRATEGIES if s != "parameter-server"]  # always refused


class CompileWidget(w.VBox):
    """Pick a loss, optimizer, schedule and metrics; compile, train and stop from a form.

    ``x``/``y``/``validation_data`` are the training data; the names used in
    the generated cell are found in the notebook's namespace when the objects are
    there, else ``x_train``/``y_train``. When the strategy or mixed precision needs
    the model rebuilt, :attr:`model` (and the notebook's variable, when it named the
    old model) becomes the rebuilt one, as with ``%%kcompile``.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> ui = CompileWidget(model, np.zeros((8, 2)), np.zeros((8, 1)), epochs=1)
        >>> ui.loss.value = "huber"
        >>> ui.mixed_precision.value = True
        >>> print(ui.as_cell())
        %%kcompile model --mixed-precision
        loss = huber
        optimizer = adam
        x = x_train
        y = y_train
        epochs = 1
        batch_size = 32
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
        self.run: Run | None = None
        self.findings = Preflight()
        self._confirming = False  # Train was clicked once while preflight found errors
        self._thread: threading.Thread | None = None
        self._view: LiveView | None = None
        self.components = ComponentPickers(on_change=self._refresh_views)
        self.loss = self.components.pickers["loss"]
        self.optimizer = self.components.pickers["optimizer"]
        self.schedule = self.components.pickers["schedule"]
        self.metrics = self.components.metrics
        self.forms = self.components.forms
        self.epochs = w.IntText(value=epochs, description="epochs")
        self.batch_size = w.IntText(value=batch_size, description="batch size")
        self.validation_split = w.BoundedFloatText(
            value=validation_split, min=0.0, max=0.95, step=0.05, description="validation split"
        )
        self.strategy = w.Dropdown(options=_SHOWN_STRATEGIES, value="auto", description="strategy")
        self.strategy.add_class("kreg-strategy")
        self.mixed_precision = w.Checkbox(value=False, description="mixed precision", indent=False)
        self.mixed_precision.add_class("kreg-mixed-precision")
        self.compile_button = button("Compile", "kreg-compile", self._compile_clicked)
        self.train_button = button("Train", "kreg-train", self._train_clicked)
        self.stop_button = button("Stop", "kreg-stop", self._stop_clicked)
        self.stop_button.disabled = True
        self.export_path = w.Text(value=f"exports/{self.names['model']}", description="export to")
        self.export_path.add_class("kreg-export-path")
        self.export_button = button("Export", "kreg-export", self._export_clicked)
        self.export_button.disabled = True
        self.findings_view = w.HTML()
        self.findings_view.add_class("kreg-preflight")
        self.status = w.HTML("ready")
        self.status.add_class("kreg-status")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="")
        self.progress.add_class("kreg-progress")
        self.progress_line = w.HTML()
        self.plot = w.Image(format="png")
        self.plot.add_class("kreg-plot")
        self.cell_view = w.Textarea(layout=w.Layout(width="100%", height="14em"))
        self.code_view = w.Textarea(layout=w.Layout(width="100%", height="14em"))
        self.views = w.Tab(
            children=[self.cell_view, self.code_view], titles=("As %%kcompile", "As Keras code")
        )
        settings = (self.epochs, self.batch_size, self.validation_split)
        for control in (*settings, self.strategy, self.mixed_precision):
            control.observe(lambda change: self._refresh_views(), names="value")
        buttons = (self.compile_button, self.train_button, self.stop_button)
        self.comparing = CompareControl(self)  # "Compare with…"
        super().__init__(
            [
                self.components,
                w.HBox(list(settings)),
                w.HBox([self.strategy, self.mixed_precision]),
                self.findings_view,
                w.HBox([*buttons, self.export_path, self.export_button]),
                self.comparing,
                self.status,
                self.progress,
                self.progress_line,
                self.plot,
                self.views,
            ]
        )
        self.add_class("kreg-compile-widget")
        self._refresh_views()

    @property
    def metric_forms(self) -> dict[str, Any]:
        """The argument form of each picked metric, by its picker label."""
        return self.components.metric_forms

    # -- the cell -------------------------------------------------------------------------

    def options(self, force: bool = False) -> RunOptions:
        """The run options the form sets (strategy, mixed precision; ``force``: despite errors)."""
        return RunOptions(
            strategy=self.strategy.value, mixed_precision=self.mixed_precision.value, force=force
        )

    def as_cell(self, train: bool = True) -> str:
        """The ``%%kcompile`` cell that does what the form says (Train, or Compile only)."""
        flags = [f"--strategy {self.strategy.value}"] if self.strategy.value != "auto" else []
        flags += ["--mixed-precision"] if self.mixed_precision.value else []
        lines = [" ".join(["%%kcompile", self.names["model"], *flags])]
        lines += self.components.compile_lines()
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

    def _body(self, train: bool) -> str:
        invalid = self.components.invalid()
        if invalid:
            raise KregError(invalid)
        return self.as_cell(train).partition("\n")[2]

    def plan(self, train: bool = True, force: bool = False) -> Plan:
        """Parse, place and resolve the form's cell exactly as ``%%kcompile`` does.

        Raises:
            KregError: an invalid setting (the message names it); the model is untouched.
        """
        return plan_cell(self._body(train), self.model, self._namespace(), self.options(force))

    def _refresh_views(self) -> None:
        self.cell_view.value = self.as_cell()
        try:  # the preview resolves without choosing a strategy (which starts TensorFlow)
            spec = resolve_cell(parse_cell(self._body(train=True)), self._namespace())
        except KregError as error:
            self.code_view.value = f"# not valid yet: {error}"
            return
        self.code_view.value = spec.to_code(self.names["model"])
        self._show_findings(preflight_spec(self.model, spec))

    def _show_findings(self, findings: Preflight) -> None:
        """Preflight's findings under the form; a change of the form asks again before Train."""
        self.findings = findings
        self.findings_view.value = findings._repr_html_() if findings else ""
        self._confirming = False
        self.train_button.description = "Train"

    # -- actions --------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#cf222e" if error else "inherit"
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def _compile_clicked(self, _: object = None) -> None:
        try:
            run = run_cell(self.plan(train=False), self.model, model_name=self.names["model"])
        except KregError as error:
            self._say(str(error), error=True)
            return
        self._finished(run)
        self._say(f"compiled: {run.device} · loss={self.components.chosen('loss')}")

    def _train_clicked(self, _: object = None) -> None:
        if self.x is None:
            self._say("no training data: CompileWidget(model, x, y)", error=True)
            return
        try:
            plan = self.plan(train=True, force=self._confirming)
        except KregError as error:
            self._say(str(error), error=True)
            return
        self._show_findings(plan.findings)
        if plan.findings.errors and not plan.options.force:
            self._confirming = True
            self.train_button.description = "Train anyway"
            count = len(plan.findings.errors)
            self._say(
                f"preflight found {count} error{'s' * (count != 1)} (shown above, each with its "
                "fix): change the form, or click 'Train anyway' to train despite them",
                error=True,
            )
            return
        self._running(True)
        self._thread = threading.Thread(
            target=self._train, args=(plan,), name="kreg-train", daemon=True
        )
        self._thread.start()

    def _make_view(self, settings: ViewSettings) -> TrainingView:
        from kreg.ui.liveview import LiveView, WidgetSink

        view: LiveView = LiveView(
            epochs=settings.epochs,
            steps_per_epoch=settings.steps_per_epoch,
            batch_size=settings.batch_size,
            title=settings.title,
            sink=WidgetSink(self),
        )
        self._view = view
        return view

    def _train(self, plan: Plan) -> None:
        try:
            run = run_cell(
                plan, self.model, model_name=self.names["model"], make_view=self._make_view
            )
        except TrainingFault as fault:
            if fault.run is not None:
                self._finished(fault.run)
            self._say(f"training failed: {fault}", error=True)
            return
        except Exception as error:
            self._say(f"training failed: {type(error).__name__}: {error}", error=True)
            return
        finally:
            self._running(False)
        self._finished(run)
        done = len(run.history.get("loss", []))
        how = f"stopped: {run.stopped}" if run.stopped else f"done: {done} epochs"
        loss = self.components.chosen("loss")
        self._say(f"{how} · loss={loss} · history: {done} epochs · {run.wall_seconds:.1f} s")

    def _finished(self, run: Run) -> None:
        """Keep ``run``; when it rebuilt the model, the widget and the notebook use the new one."""
        self.run = run
        self.export_button.disabled = False
        if run.model is not None and run.model is not self.model:
            shell = _shell()
            name = self.names["model"]
            if shell is not None and shell.user_ns.get(name) is self.model:
                shell.user_ns[name] = run.model
            self.model = run.model

    def _export_clicked(self, _: object = None) -> None:
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

    def _stop_clicked(self, _: object = None) -> None:
        # The model being trained: the view's (a rebuilt clone when precision asked for one).
        training = getattr(self._view, "model", None)
        (training or self.model).stop_training = True
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


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _variable_name(obj: object, fallback: str) -> str:
    """The notebook variable that holds ``obj``, else ``fallback``."""
    shell = _shell()
    if obj is None or shell is None:
        return fallback
    for name, value in shell.user_ns.items():
        if value is obj and not name.startswith("_"):
            return str(name)
    return fallback
