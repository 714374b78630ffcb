"""CompileWidget and Browser at the Python level: real widgets, real Keras, real threads."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kreg.widgets import Browser, CompileWidget


@pytest.fixture
def ui(keras):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    return CompileWidget(model, x, y, epochs=3, batch_size=32)


def test_compile_uses_the_chosen_objects_and_arguments(ui):
    ui.loss.value = "huber"
    ui.forms["loss"].inputs["delta"].value = 2.5
    ui.optimizer.value = "sgd"
    ui.forms["optimizer"].inputs["momentum"].value = 0.5
    ui.schedule.value = "exponential_decay"
    form = ui.forms["schedule"].inputs
    form["initial_learning_rate"].value = "0.05"
    form["decay_steps"].value = "100"
    form["decay_rate"].value = "0.5"
    ui.metrics.value = ("mean_absolute_error", "cohen_kappa · contrib")
    assert not ui.metric_forms["cohen_kappa · contrib"].valid, "num_classes is required"
    ui.metric_forms["cohen_kappa · contrib"].inputs["num_classes"].value = "3"
    ui.compile_button.click()
    model = ui.model
    assert model.compiled, ui.status.value
    assert type(model.loss).__name__ == "Huber" and model.loss.get_config()["delta"] == 2.5
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == 0.5
    schedule = model.optimizer._learning_rate
    assert type(schedule).__name__ == "ExponentialDecay" and schedule.decay_steps == 100
    assert "compiled" in ui.status.value and "loss=huber" in ui.status.value
    assert "metrics = [mean_absolute_error, cohen_kappa(num_classes=3)]" in ui.as_cell()


def test_forms_regenerate_when_the_choice_changes(ui):
    ui.loss.value = "huber"
    assert "delta" in ui.forms["loss"].inputs
    ui.loss.value = "binary_crossentropy"
    assert "delta" not in ui.forms["loss"].inputs
    assert {"from_logits", "label_smoothing", "reduction"} <= set(ui.forms["loss"].inputs)
    assert ui.forms["loss"].inputs["reduction"].options[0] == "sum_over_batch_size"
    ui.schedule.value = "cosine_decay"
    assert "learning_rate" not in ui.forms["optimizer"].inputs, "the schedule gives the rate"


def test_an_invalid_value_shows_an_error_and_leaves_the_model_unchanged(ui):
    ui.model.compile(loss="mse", optimizer="sgd")
    before = (ui.model.loss, ui.model.optimizer)
    ui.loss.value = "binary_focal_crossentropy"
    ui.forms["loss"].inputs["reduction"].value = "sum"
    ui.forms["loss"].inputs["alpha"].value = 0.3
    ui.metrics.value = ("auc",)
    ui.metric_forms["auc"].inputs["num_thresholds"].value = 1
    form = ui.metric_forms["auc"]
    assert not form.valid and "num_thresholds" in form.error.value, "flagged inline"
    ui.compile_button.click()
    assert "num_thresholds" in ui.status.value and "color:#cf222e" in ui.status.value
    assert (ui.model.loss, ui.model.optimizer) == before
    ui.metric_forms["auc"].inputs["num_thresholds"].value = 50
    ui.loss.value = "no_such_loss"
    ui.compile_button.click()
    assert "no_such_loss" in ui.status.value and (ui.model.loss, ui.model.optimizer) == before


def test_train_in_the_background_shows_the_plot_and_the_cell_reproduces_it(ui, keras):
    ui.loss.value = "huber"
    ui.metrics.value = ("mean_absolute_error",)
    ui.validation_split.value = 0.25
    ui.train_button.click()
    assert ui.train_button.disabled and ui.compile_button.disabled and not ui.stop_button.disabled
    ui.wait(120)
    assert "done: 3 epochs" in ui.status.value and "history: 3 epochs" in ui.status.value
    assert ui.progress.value == ui.progress.max > 0
    assert ui.plot.value[:4] == b"\x89PNG"
    assert not ui.train_button.disabled and ui.stop_button.disabled
    assert set(ui.run.history) >= {"loss", "val_loss", "mean_absolute_error"}
    cell = ui.cell_view.value
    assert cell.startswith("%%kcompile model\nloss = huber\noptimizer = adam\n")
    assert "validation_split = 0.25" in cell and "epochs = 3" in cell
    assert "keras.losses.Huber()" in ui.code_view.value


def test_export_button_writes_a_folder_kreg_train_reads(ui, keras, tmp_path):
    assert ui.export_button.disabled  # nothing to export before a run
    ui.loss.value = "huber"
    ui.train_button.click()
    ui.wait(120)
    assert not ui.export_button.disabled
    ui.export_path.value = str(tmp_path / "from-widget")
    ui.export_button.click()
    assert "exported to" in ui.status.value and "kreg train" in ui.status.value
    from kreg.training.exported import load_export

    export = load_export(tmp_path / "from-widget")
    assert export.document["compile"]["loss"]["component"] == "keras:huber"
    assert export.fit_settings["epochs"] == 3
    np.testing.assert_array_equal(export.data()["x"], ui.x)
    loaded = export.load_model().get_weights()
    for initial, exported in zip(ui.run.initial_weights, loaded):
        np.testing.assert_array_equal(initial, exported)


def test_stop_during_a_run_keeps_weights_and_partial_history(keras):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 8)).astype("float32")
    y = x[:, :1].copy()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    ui = CompileWidget(model, x, y, epochs=200, batch_size=32)
    ui.optimizer.value = "sgd"
    ui.train_button.click()
    deadline = time.monotonic() + 60
    while ui.progress.value < 2 * 625 and time.monotonic() < deadline:  # two epochs in
        time.sleep(0.02)
    assert ui.train_button.disabled, "still training when Stop is clicked"
    ui.stop_button.click()
    ui.wait(60)
    run = ui.run
    assert run is not None and "stopped" in ui.status.value
    done = len(run.history["loss"])
    assert 0 < done < 200
    assert "model.stop_training was set" in run.stopped
    weights = model.get_weights()
    assert any(np.any(w != 0) for w in weights)
    for kept, current in zip(weights, run.model.get_weights()):
        np.testing.assert_array_equal(kept, current)


def test_browser_filters_shows_details_and_checks():
    browser = Browser()
    browser.kind.value = "loss"
    browser.search.value = "pinball"
    assert browser.results.options == ("quantile · loss · contrib",)
    browser.results.value = browser.results.options[0]
    assert "contrib:quantile" in browser.details.value and "= 0.5" in browser.details.value
    browser.check_button.click()
    assert "<table" in browser.report.value and "OK" in browser.report.value


def test_kreg_ui_and_browse_magics(keras):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kreg")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    shell.user_ns.update(net=model, xs=np.zeros((8, 2), "float32"), ys=np.zeros((8, 1), "float32"))
    widget = shell.run_line_magic("kreg", "ui net xs ys")
    assert isinstance(widget, CompileWidget) and widget.model is model
    assert "%%kcompile net" in widget.cell_view.value and "x = xs\ny = ys" in widget.cell_view.value
    assert isinstance(shell.run_line_magic("kreg", "browse"), Browser)
    with pytest.raises(UsageError, match="no variable named 'nope'"):
        shell.run_line_magic("kreg", "ui nope")


def _twin_models(keras):
    """Two models with the same architecture and weights."""
    keras.utils.set_random_seed(0)
    first = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    second = keras.models.clone_model(first)
    second.set_weights(first.get_weights())
    return first, second


def _layers(model) -> list[tuple[str, str]]:
    return [(type(layer).__name__, layer.dtype_policy.name) for layer in model.layers]


def test_mixed_precision_rebuilds_the_model_as_kcompile_does(keras, ip):
    """The widget takes %%kcompile's path: the same rebuild, notes, policy and training."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    for_widget, for_magic = _twin_models(keras)
    ip.user_ns.update(net=for_widget, twin=for_magic, xs=x, ys=y)
    ui = CompileWidget(for_widget, x, y, epochs=2, batch_size=32, model_name="net")
    ui.mixed_precision.value = True
    cell = ui.as_cell()
    assert cell.startswith("%%kcompile net --mixed-precision\n")
    keras.utils.set_random_seed(1)
    ui.train_button.click()
    ui.wait(120)
    assert "done: 2 epochs" in ui.status.value, ui.status.value
    widget_run = ui.run
    assert ui.model is widget_run.model and ui.model is not for_widget, "the model was rebuilt"
    assert ip.user_ns["net"] is ui.model, "the notebook's variable names the rebuilt model"
    assert keras.mixed_precision.global_policy().name == "float32", "the policy is restored"

    keras.utils.set_random_seed(1)
    line, _, body = cell.partition("\n")
    ip.run_cell_magic(
        "kcompile", line.replace("%%kcompile net", "twin -o magic_run --no-plot"), body
    )
    magic_run = ip.user_ns["magic_run"]
    assert magic_run.model is ip.user_ns["twin"] and magic_run.model is not for_magic
    assert (
        _layers(widget_run.model)
        == _layers(magic_run.model)
        == [
            ("Dense", "mixed_bfloat16"),
            ("Dense", "float32"),
        ]
    )
    assert widget_run.precision == magic_run.precision == "mixed_bfloat16"
    assert [n.replace("net", "twin") for n in widget_run.notes] == magic_run.notes
    np.testing.assert_allclose(widget_run.history["loss"], magic_run.history["loss"], rtol=1e-4)
    assert kreg_last_run() is magic_run


def test_a_strategy_rebuilds_in_its_scope_and_compile_alone_rebuilds_too(keras, ip):
    model, _ = _twin_models(keras)
    ip.user_ns["solo"] = model
    ui = CompileWidget(model, model_name="solo")
    ui.strategy.value = "mirrored"
    assert ui.as_cell().startswith("%%kcompile solo --strategy mirrored\n")
    ui.compile_button.click()
    assert "compiled" in ui.status.value, ui.status.value
    assert ui.model is not model and ip.user_ns["solo"] is ui.model
    assert ui.run.strategy == "mirrored over 1 CPU device" and ui.model.compiled
    assert type(ui.model.distribute_strategy).__name__ == "MirroredStrategy"
    assert any(
        "rebuilt in the mirrored over 1 CPU device strategy's scope" in n for n in ui.run.notes
    )


def kreg_last_run():
    import kreg

    return kreg.last_run
