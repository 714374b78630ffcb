"""LiveView with real Keras fits and IPython's real display machinery.

Notebook-mode tests install a recording ``DisplayPublisher`` on IPython's shell, so every
``display``/``update_display`` the view makes arrives as the publish call a kernel would turn
into a message; the last test runs a real kernel with nbclient and reads the saved notebook.
No timing is asserted; throttling is checked through its effect (how many updates).
"""

from __future__ import annotations

import base64
import io
import math
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

from kreg.ui.liveview import PLACEHOLDER, PNG_MAGIC, LiveView, WidgetSink, running_in_kernel

EPOCHS, BATCH, SAMPLES = 3, 16, 64
STEPS = SAMPLES // BATCH


class Recorder(DisplayPublisher):
    """Records each publish (data, display_id, update) and each clear_output."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.published: list[dict] = []
        self.cleared = 0

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
        self.published.append(
            {
                "data": dict(data),
                "display_id": (transient or {}).get("display_id"),
                "update": update,
            }
        )

    def clear_output(self, wait=False) -> None:
        self.cleared += 1


@pytest.fixture
def shown():
    """IPython's shell with a recording display publisher (the old one is put back after)."""
    shell = InteractiveShell.instance()
    saved = shell.display_pub
    shell.display_pub = recorder = Recorder(shell=shell)
    try:
        yield recorder
    finally:
        shell.display_pub = saved


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    return x, y


def model_for(keras, **compile_args):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    compile_args.setdefault("metrics", ["mae"])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05), **compile_args)
    return model


def fit(keras, data, view, epochs=EPOCHS, callbacks=(), **compile_args):
    x, y = data
    model = model_for(keras, **compile_args)
    history = model.fit(
        x,
        y,
        validation_data=(x[:32], y[:32]),
        epochs=epochs,
        batch_size=BATCH,
        verbose=0,
        callbacks=[view, *callbacks],
    )
    return history.history


def png_of(publish: dict) -> bytes:
    raw = publish["data"]["image/png"]
    return raw if isinstance(raw, bytes) else base64.b64decode(raw)


def by_id(shown: Recorder) -> tuple[str, str | None, dict[str, list[dict]]]:
    """The progress line's display id, the figure's, and every publish grouped by id."""
    created = [p for p in shown.published if not p["update"]]
    groups: dict[str, list[dict]] = {}
    for publish in shown.published:
        groups.setdefault(publish["display_id"], []).append(publish)
    line = created[0]["display_id"]
    figure = created[1]["display_id"] if len(created) > 1 else None
    return line, figure, groups


# -- text mode ------------------------------------------------------------------------------


def test_text_mode_records_keras_history_and_prints_only_the_final_summary(keras, data):
    out = io.StringIO()
    view = LiveView(epochs=EPOCHS, batch_size=BATCH, mode="text", stream=out, min_interval=10)
    history = fit(keras, data, view)

    assert set(view.history) == set(history) == {"loss", "mae", "val_loss", "val_mae"}
    for key, values in history.items():
        assert len(view.history[key]) == EPOCHS
        assert view.history[key] == pytest.approx(values, abs=1e-6), key
    assert view.mode == "text" and view.finished
    assert (view.last_epoch, view.last_step) == (EPOCHS - 1, STEPS)
    assert view.samples_per_second * view.wall_seconds == pytest.approx(BATCH * STEPS * EPOCHS)

    # min_interval=10: no progress line during this short fit, only the final summary
    lines = out.getvalue().splitlines()
    final = history["loss"][-1]
    assert lines[0].startswith("done: 3 epochs, ") and "samples/s" in lines[0]
    assert f"loss {final:.4g}" in lines[0]
    assert lines[1:] == [
        f"  loss  {final:.4g}   val {history['val_loss'][-1]:.4g}",
        f"  mae   {history['mae'][-1]:.4g}   val {history['val_mae'][-1]:.4g}",
    ]
    assert view.redraws == 0 and view.png is None and view.figure is None  # text never draws


def test_text_mode_prints_a_progress_line_per_refresh_when_not_throttled(keras, data):
    out = io.StringIO()
    view = LiveView(
        epochs=EPOCHS, batch_size=BATCH, mode="text", stream=out, min_interval=0, max_overhead=1
    )
    fit(keras, data, view)
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("epoch ")]
    pattern = r"epoch [1-3]/3 \| step [0-4]/4 \| \d+\.\d s elapsed( \| ETA \d+\.\d s)?"
    assert len(progress) >= EPOCHS * 2, lines
    for line in progress:
        assert re.match(pattern, line), line
    assert any("ETA" in line and "samples/s" in line and "loss " in line for line in progress)
    assert progress[-1].startswith("epoch 3/3 | step 4/4")
    assert lines[len(progress)].startswith("done: 3 epochs")


def test_unknown_steps_per_epoch_are_learnt_from_the_first_epoch(keras, data):
    import tensorflow as tf

    def keep(x, y):
        return True

    dataset = tf.data.Dataset.from_tensor_slices(data).filter(keep).batch(BATCH)
    assert int(dataset.cardinality()) < 0  # unknown
    out = io.StringIO()
    view = LiveView(epochs=2, mode="text", stream=out, min_interval=0, max_overhead=1)
    model = model_for(keras)
    with pytest.warns(UserWarning):  # Keras: "Your input ran out of data" at each epoch's end
        model.fit(dataset, epochs=2, verbose=0, callbacks=[view])

    progress = [line for line in out.getvalue().splitlines() if line.startswith("epoch ")]
    first = [line for line in progress if line.startswith("epoch 1/2")]
    second = [line for line in progress if line.startswith("epoch 2/2")]
    assert len(first) >= 2 and second
    # within the first epoch the length is unknown: no total, no ETA, until its end
    assert all("ETA" not in line and re.search(r"step \d \|", line) for line in first[:-1])
    assert first[-1].startswith("epoch 1/2 | step 4/4")
    assert all("/4 |" in line for line in second) and any("ETA" in line for line in second)
    assert "steps/s" in progress[-1]  # no batch size: steps per second
    xs = [x for x, _ in view.batches["loss"]]
    assert xs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])


def test_steps_per_execution_points_land_on_fractional_epochs(keras, data):
    view = LiveView(epochs=2, mode="off")
    history = fit(keras, data, view, epochs=2, steps_per_execution=2)
    xs = [x for x, _ in view.batches["loss"]]
    assert xs == pytest.approx([0.5, 1.0, 1.5, 2.0])  # one call per 2 steps, batch 1 and 3
    assert view.last_step == STEPS
    assert view.history["loss"] == pytest.approx(history["loss"], abs=1e-6)


def test_off_mode_records_and_shows_nothing(keras, data, shown, capsys):
    view = LiveView(epochs=2, mode="off", stream=None)
    history = fit(keras, data, view, epochs=2)
    assert view.history["val_mae"] == pytest.approx(history["val_mae"], abs=1e-6)
    assert shown.published == [] and capsys.readouterr().out == ""
    assert view.redraws == 0 and view.draw_seconds == 0
    assert view.figure_png().startswith(PNG_MAGIC)  # on demand, after the run


# -- notebook mode --------------------------------------------------------------------------


def test_notebook_figure_is_one_display_updated_in_place(keras, data, shown):
    view = LiveView(epochs=EPOCHS, batch_size=BATCH, mode="notebook", min_interval=10)
    history = fit(keras, data, view)
    line, figure, groups = by_id(shown)

    # two outputs, each created once: the progress line, then the figure's place
    assert next(p["update"] for p in shown.published if p["display_id"] == figure) is False
    assert [p for p in shown.published if not p["update"]] == [groups[line][0], groups[figure][0]]
    assert set(groups) == {line, figure} and line != figure
    assert groups[figure][0]["data"] == {"text/plain": PLACEHOLDER}
    assert shown.cleared == 0

    # min_interval=10: neither output refreshes during the fit; the final redraw is the one
    updates = groups[figure][1:]
    assert all(p["update"] for p in updates)
    assert len(updates) == view.redraws == 1
    assert png_of(updates[-1]).startswith(PNG_MAGIC)
    assert png_of(updates[-1]) == view.png
    assert len(groups[line]) == 2  # the first line, the final one
    assert groups[line][0]["data"]["text/plain"] == "starting: 3 epochs of 4 steps"
    final = groups[line][-1]["data"]["text/plain"]
    assert final.startswith("done: 3 epochs, ") and f"loss {history['loss'][-1]:.4g}" in final
    assert view.draw_seconds > 0


def test_notebook_redraws_during_training_when_the_throttle_allows(keras, data, shown):
    view = LiveView(
        epochs=2, batch_size=BATCH, mode="notebook", title="tiny", min_interval=0, max_overhead=1
    )
    fit(keras, data, view, epochs=2)
    line, figure, groups = by_id(shown)
    updates = groups[figure][1:]
    assert view.redraws >= 2 and len(updates) == view.redraws
    assert all(p["update"] and png_of(p).startswith(PNG_MAGIC) for p in updates)
    assert png_of(updates[-1]) == view.png and shown.cleared == 0
    assert any(p["data"]["text/plain"].startswith("epoch 1/2 | step") for p in groups[line][1:-1])
    assert 0 < view.draw_seconds < view.wall_seconds


def test_a_panel_per_metric_with_validation_in_its_twin_panel(keras, data):
    view = LiveView(epochs=EPOCHS, mode="off")
    history = fit(keras, data, view, metrics=["mae", "mse"])
    assert view.panels == ["loss", "mae", "mse"]
    assert view.figure_png().startswith(PNG_MAGIC) and view.png is not None
    axes = {ax.get_title(): ax for ax in view.figure.axes if ax.get_visible()}
    assert sorted(axes) == ["loss", "mae", "mse"]
    lines = {line.get_label(): line for line in axes["loss"].get_lines()}
    assert list(lines["val_loss"].get_ydata()) == pytest.approx(history["val_loss"], abs=1e-6)
    assert list(lines["loss"].get_ydata()) == pytest.approx(history["loss"], abs=1e-6)
    assert list(lines["loss"].get_xdata()) == [1.0, 2.0, 3.0]
    assert len(lines["loss (batch)"].get_xdata()) == EPOCHS * STEPS
    mae = {line.get_label() for line in axes["mae"].get_lines()}
    assert mae == {"mae (batch)", "mae", "val_mae"}


def test_plot_false_in_a_notebook_shows_only_the_progress_line(keras, data, shown):
    view = LiveView(epochs=2, mode="notebook", plot=False, min_interval=0)
    fit(keras, data, view, epochs=2)
    assert len({p["display_id"] for p in shown.published}) == 1
    assert all("image/png" not in p["data"] for p in shown.published)
    assert view.redraws == 0 and shown.published[-1]["data"]["text/plain"].startswith("done:")


def test_long_runs_are_downsampled_and_bad_values_skipped():
    view = LiveView(epochs=1, steps_per_epoch=5000, mode="off")
    view.on_train_begin()
    view.on_epoch_begin(0)
    for batch in range(5000):
        loss = math.nan if batch % 100 == 7 else (math.inf if batch == 10 else 1 + batch % 2)
        logs = {"loss": loss, "name": "adam", "vector": np.zeros(3), "one": np.float32(2)}
        view.on_train_batch_end(batch, logs)
    view.on_epoch_end(0, {"loss": math.nan, "val_loss": 1.5, "one": 2.0})
    view.on_train_end()

    assert view.error is None
    assert view.panels == ["loss", "one"]  # the string and the vector are not scalars
    assert len(view.batches["loss"]) == 5000  # every point is kept, NaN included
    assert sum(math.isnan(v) for _, v in view.batches["loss"]) == 50
    view.figure_png()
    lines = {line.get_label(): line for line in view.figure.axes[0].get_lines()}
    xs, ys = lines["loss (batch)"].get_xdata(), lines["loss (batch)"].get_ydata()
    assert 250 <= len(xs) <= 500
    assert all(math.isfinite(v) for v in ys) and 0 < min(xs) and max(xs) <= 1
    assert np.mean(ys) == pytest.approx(1.5, abs=0.01)  # bucket means of 1, 2, 1, 2...
    assert len(lines["loss"].get_xdata()) == 0  # the epoch's NaN is not drawn
    assert list(lines["val_loss"].get_ydata()) == [1.5]


# -- robustness and the end of a run ---------------------------------------------------------


class BadNumber(float):
    """A log value that claims to be a number and raises when converted."""

    def __float__(self):
        raise RuntimeError("cannot convert")


def inject_bad_log(keras):
    """A callback that puts a broken value into the batch logs the next callbacks receive."""

    class Inject(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            logs["broken"] = BadNumber(1.0)

    return Inject()


def test_an_error_in_the_view_never_reaches_training(keras, data, shown):
    view = LiveView(epochs=2, mode="notebook", min_interval=0)
    x, y = data
    model = model_for(keras)
    history = model.fit(
        x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=[inject_bad_log(keras), view]
    ).history
    assert isinstance(view.error, RuntimeError)
    assert view.history["loss"] == pytest.approx(history["loss"], abs=1e-6)  # still recording
    assert view.redraws == 0 and view.finished
    assert not any("image/png" in p["data"] for p in shown.published)  # output stopped
    final = shown.published[-1]["data"]["text/plain"]
    assert final.startswith("done: 2 epochs") and "live view stopped after an error" in final


def test_a_drawing_failure_is_caught_and_stops_drawing(keras, data, shown):
    view = LiveView(epochs=2, mode="notebook", title=r"$\frac{$", min_interval=0)
    history = fit(keras, data, view, epochs=2)
    assert isinstance(view.error, ValueError)  # matplotlib's mathtext parse error
    assert view.history["loss"] == pytest.approx(history["loss"], abs=1e-6)
    assert view.redraws == 0 and view.png is None
    assert not any("image/png" in p["data"] for p in shown.published)


def test_a_failing_stream_never_reaches_training(keras, data):
    out = io.StringIO()
    out.close()  # every write raises ValueError
    view = LiveView(epochs=2, mode="text", stream=out, min_interval=0)
    history = fit(keras, data, view, epochs=2)
    assert isinstance(view.error, ValueError)
    assert view.history["loss"] == pytest.approx(history["loss"], abs=1e-6)
    assert view.finished


def interrupt_at(keras, epoch, batch):
    """A callback that raises KeyboardInterrupt (as Ctrl-C would) after that batch."""

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, index, logs=None):
            self.epoch = index

        def on_train_batch_end(self, index, logs=None):
            if (self.epoch, index) == (epoch, batch):
                raise KeyboardInterrupt

    return Interrupt()


def test_stopped_then_finish_says_why_and_finish_is_idempotent(keras, data):
    out = io.StringIO()
    view = LiveView(epochs=EPOCHS, batch_size=BATCH, mode="text", stream=out, min_interval=10)
    with pytest.raises(KeyboardInterrupt):
        fit(keras, data, view, callbacks=[interrupt_at(keras, epoch=1, batch=1)])
    assert not view.finished  # the interrupt skipped on_train_end
    view.stopped("interrupted")
    view.finish()
    view.finish()
    text = out.getvalue()
    assert text.count("stopped at epoch 2 step 2/4: interrupted (") == 1, text
    assert "done:" not in text
    assert view.stop_reason == "interrupted" and len(view.history["loss"]) == 1


def test_stopped_after_keras_finished_updates_the_final_line(keras, data, shown):
    view = LiveView(epochs=2, mode="notebook", min_interval=10)
    fit(keras, data, view, epochs=2)
    line, _, groups = by_id(shown)
    assert groups[line][-1]["data"]["text/plain"].startswith("done: 2 epochs")
    count = len(shown.published)
    view.stopped("the loss became NaN")
    assert len(shown.published) == count + 1  # the final line again; no redraw
    view.finish()
    assert len(shown.published) == count + 1
    final = shown.published[-1]
    assert final["display_id"] == line and final["update"]
    assert final["data"]["text/plain"].startswith(
        "stopped at epoch 2 step 4/4: the loss became NaN"
    )


def fail_at(keras, epoch, batch):
    """A callback that raises after that batch, before the view (placed after it) sees it."""

    class Fail(keras.callbacks.Callback):
        def on_epoch_begin(self, index, logs=None):
            self.epoch = index

        def on_train_batch_end(self, index, logs=None):
            if (self.epoch, index) == (epoch, batch):
                raise RuntimeError("a callback failed")

    return Fail()


def test_stopped_at_names_the_step_a_failing_callback_hid_from_the_view(keras, data):
    out = io.StringIO()
    view = LiveView(epochs=EPOCHS, batch_size=BATCH, mode="text", stream=out, min_interval=10)
    x, y = data
    model = model_for(keras)
    with pytest.raises(RuntimeError, match="a callback failed"):
        model.fit(
            x,
            y,
            epochs=EPOCHS,
            batch_size=BATCH,
            verbose=0,
            callbacks=[fail_at(keras, epoch=1, batch=1), view],
        )
    assert (view.last_epoch, view.last_step) == (1, 1)  # the failing step never reached it
    view.stopped("a callback failed", at=(0, 4))  # another epoch: the view's own step stands
    assert view.last_step == 1
    view.stopped("a callback failed", at=(1, 2))
    view.finish()
    text = out.getvalue()
    assert text.startswith("stopped at epoch 2 step 2/4: a callback failed ("), text
    assert view.last_step == 2 and view.error is None


def test_widget_sink_drives_real_widgets(keras, data):
    widgets = pytest.importorskip("ipywidgets")
    widget = SimpleNamespace(
        progress=widgets.IntProgress(value=3, min=0, max=10),
        progress_line=widgets.HTML(),
        plot=widgets.Image(format="png"),
    )
    values: list[int] = []
    lines: list[str] = []
    widget.progress.observe(lambda change: values.append(change["new"]), names="value")
    widget.progress_line.observe(lambda change: lines.append(change["new"]), names="value")
    view = LiveView(
        epochs=2,
        steps_per_epoch=STEPS,
        batch_size=BATCH,
        mode="text",  # ignored: the sink decides
        min_interval=0,
        max_overhead=1,
        sink=WidgetSink(widget),
    )
    assert view.mode == "widget" and view.requested_mode == "text"
    history = fit(keras, data, view, epochs=2)

    assert view.error is None and view.finished
    assert lines[0] == "starting: 2 epochs of 4 steps"
    assert any(line.startswith("epoch 2/2 | step") for line in lines[1:-1])
    assert lines[-1].startswith("done: 2 epochs, ") and "\n" not in lines[-1]
    assert f"loss {history['loss'][-1]:.4g}" in lines[-1]
    assert widget.progress.max == 2 * STEPS
    assert values[0] == 0  # reset at train begin
    middle = values[1:-1]
    assert middle and middle == sorted(middle) and all(0 < v <= 2 * STEPS for v in middle)
    assert values[-1] == widget.progress.value == 2 * STEPS
    assert view.redraws >= 2 and widget.plot.value == view.png
    assert view.png.startswith(PNG_MAGIC)
    assert widget.plot.width == str(int.from_bytes(view.png[16:20], "big"))
    assert int(widget.plot.width) == round(view.figure.get_size_inches()[0] * view.figure.dpi)


def test_widget_sink_keeps_the_bar_where_a_stopped_run_ended(keras, data):
    widgets = pytest.importorskip("ipywidgets")
    widget = SimpleNamespace(
        progress=widgets.IntProgress(), progress_line=widgets.HTML(), plot=widgets.Image()
    )
    view = LiveView(epochs=EPOCHS, steps_per_epoch=STEPS, sink=WidgetSink(widget), plot=False)
    with pytest.raises(KeyboardInterrupt):
        fit(keras, data, view, callbacks=[interrupt_at(keras, epoch=1, batch=1)])
    view.stopped("interrupted")
    view.finish()
    assert widget.progress_line.value.startswith("stopped at epoch 2 step 2/4: interrupted")
    assert (widget.progress.value, widget.progress.max) == (STEPS + 2, EPOCHS * STEPS)
    assert view.redraws == 0 and widget.plot.value == b""


def test_the_recorder_and_the_texts_import_no_keras_and_no_matplotlib():
    code = (
        "import sys\n"
        "import kreg.ui.liveview.recorder, kreg.ui.liveview.text\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_mode_resolution_and_argument_checks():
    InteractiveShell.instance()  # a terminal-like shell: not a kernel
    assert not running_in_kernel()
    assert LiveView(epochs=1).mode == "text"
    assert LiveView(epochs=1, mode="notebook").mode == "notebook"
    for bad in ({"mode": "gui"}, {"max_overhead": 0}, {"min_interval": -1}):
        with pytest.raises(ValueError):
            LiveView(epochs=1, **bad)


def test_a_real_kernel_keeps_one_figure_and_one_line_in_the_saved_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    source = """
import numpy as np, keras
from kreg.ui.liveview import LiveView
x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
view = LiveView(epochs=2, batch_size=16, min_interval=0, max_overhead=1)
model.fit(x, x[:, :1], validation_split=0.25, epochs=2, batch_size=16, verbose=0,
          callbacks=[view])
print("mode", view.mode, "redraws", view.redraws, "error", view.error)
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = notebook.cells[0].outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    match = re.search(r"mode notebook redraws (\d+) error None", printed)
    assert match, printed
    # every update replaced its output in place: one line and one figure remain
    assert len(shown) == 2, shown
    assert shown[0].data["text/plain"].startswith("done: 2 epochs")
    assert base64.b64decode(shown[1].data["image/png"]).startswith(PNG_MAGIC)
    assert int(match.group(1)) >= 1
