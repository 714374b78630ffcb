"""compare(...) in %%kcompile and kreg.compare: several runs from one start, in a real shell."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from IPython.core.error import UsageError

import kreg
from kreg.cell.alternatives import MAX_RUNS, expand
from kreg.cell.parse import parse_cell
from kreg.errors import CellError

BODY = """
loss = mse
optimizer = {optimizer}
x = x_train
y = y_train
epochs = 3
batch_size = 16
validation_split = 0.25
"""


@pytest.fixture
def data(ip, keras):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    ip.user_ns.update({"model": model, "x_train": x, "y_train": y})
    return ip.user_ns


def kcompile(ip, line: str, body: str, capsys=None):
    ip.run_cell_magic("kcompile", line, textwrap.dedent(body).strip("\n"))


def weights(model):
    return [w.copy() for w in model.get_weights()]


def same(first, second) -> bool:
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("x = compare(a, b)", "x cannot hold alternatives"),
        ("optimizer = compare(adam)", "takes two alternatives or more"),
        ("optimizer = compare(adam, sgd, key=1)", "takes two alternatives or more"),
        ("optimizer = adam(learning_rate=compare(0.1, 0.01))", "must be a key's whole value"),
        ("metrics = [compare(mae, mse)]", "must be a key's whole value"),
    ],
)
def test_the_grammar_refuses_what_is_not_a_comparison(body, words):
    with pytest.raises(CellError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_cell(body)


def test_alternatives_give_their_cross_product_with_only_differing_settings_as_labels():
    cell = parse_cell(
        "loss = compare(mse, huber(delta=2.0))\noptimizer = compare(adam, sgd)\nx = x"
    )
    runs = expand(cell)
    assert [r.label for r in runs] == [
        "loss=mse, optimizer=adam",
        "loss=mse, optimizer=sgd",
        "loss=huber(delta=2.0), optimizer=adam",
        "loss=huber(delta=2.0), optimizer=sgd",
    ]
    assert runs[2].cell.values["loss"].name == "huber" and runs[2].cell.values["x"].name == "x"


def test_more_than_sixteen_runs_are_refused_with_the_count():
    cell = parse_cell(
        "loss = compare(mse, mae, huber)\noptimizer = compare(adam, sgd, nadam)\n"
        "epochs = compare(1, 2)"
    )
    with pytest.raises(CellError, match=r"asks for 18 runs \(3 x 3 x 2\); kreg trains at most 16"):
        expand(cell)
    assert MAX_RUNS == 16


def test_identical_alternatives_give_identical_curves_from_identical_weights(ip, data):
    start = weights(data["model"])
    kcompile(ip, "model -o runs --no-plot", BODY.format(optimizer="compare(adam, sgd, adam)"))
    runs = data["runs"]
    assert kreg.last_run is runs and len(runs.runs) == 3
    first, _, third = runs.runs
    assert first.history == third.history and len(first.history["loss"]) == 3
    assert first.history != runs.runs[1].history
    for run in runs.runs:
        assert same(run.initial_weights, start), "every run starts from the model's weights"
        assert run.model is not data["model"]


def test_the_users_model_is_left_as_it_was(ip, data):
    model = data["model"]
    start = weights(model)
    kcompile(ip, "model -o runs --no-plot", BODY.format(optimizer="compare(adam, sgd)"))
    assert data["model"] is model and same(weights(model), start)
    assert not model.compiled, "the model was never compiled: each run used a copy"
    assert data["runs"].kept is None


def test_keep_best_installs_the_best_run_ranked_by_the_metric_given(ip, data, capsys):
    kcompile(
        ip,
        "model -o runs --no-plot --keep best --rank-by val_loss",
        BODY.format(optimizer="compare(sgd(learning_rate=0.001), adam(learning_rate=0.05))"),
    )
    runs = data["runs"]
    best = runs.best
    assert runs.kept == runs.runs.index(best) == 1, runs
    assert data["model"] is best.model and data["model"].compiled
    assert type(data["model"].optimizer).__name__ == "Adam"
    printed = capsys.readouterr().out
    assert "--keep best: `model` now names run 2's model (optimizer=adam(learning_rate=0.05))" in (
        printed
    )


def test_the_table_is_sorted_by_the_ranking_metric(ip, data):
    body = BODY.format(
        optimizer="compare(sgd(learning_rate=0.001), adam(learning_rate=0.05), "
        "sgd(learning_rate=0.01))"
    )
    kcompile(ip, "model -o runs --no-plot", body)
    runs = data["runs"]
    header, rows = runs.rows()
    column = header.index("val_loss (final)")
    values = [float(row[column]) for row in rows]
    assert values == sorted(values) and runs.rank_by == "val_loss"
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert rows[0][1] == runs.labels[runs.ranked()[0]].removeprefix("optimizer=")
    assert "<table class='kreg-runset'>" in runs._repr_html_()
    kcompile(ip, "model -o by_mae --no-plot --rank-by loss", body)
    assert data["by_mae"].rank_by == "loss"


def test_a_nan_run_is_marked_failed_and_the_next_one_trains(ip, data):
    kcompile(
        ip,
        "model -o runs --no-plot",
        BODY.format(optimizer="compare(sgd(learning_rate=1e20), adam)"),
    )
    runs = data["runs"]
    assert list(runs.failed) == [0] and "NaN" in runs.failed[0]
    assert "lower the learning rate" in runs.failed[0]
    assert runs.runs[1].stopped is None and len(runs.runs[1].history["loss"]) == 3
    assert runs.best is runs.runs[1]
    assert "the loss became NaN" in str(runs.table())


def test_an_interrupt_stops_the_current_run_skips_the_rest_and_keeps_the_finished(ip, data, keras):
    class InterruptSecondRun(keras.callbacks.Callback):
        runs = 0

        def on_train_begin(self, logs=None):
            InterruptSecondRun.runs += 1

        def on_train_batch_end(self, batch, logs=None):
            if InterruptSecondRun.runs == 2:
                raise KeyboardInterrupt

    data["stopper"] = InterruptSecondRun()
    body = BODY.format(optimizer="compare(adam, sgd, rmsprop)") + "callbacks = [stopper]"
    kcompile(ip, "model -o runs --no-plot", body)
    runs = data["runs"]
    assert len(runs.runs) == 2 and runs.skipped == ["optimizer=rmsprop"]
    assert runs.runs[0].stopped is None and len(runs.runs[0].history["loss"]) == 3
    assert runs.runs[1].stopped.startswith("interrupted in epoch 1")
    assert "not run (interrupted): optimizer=rmsprop" in str(runs.table())


def test_an_alternative_that_does_not_resolve_stops_the_cell_before_anything_trains(ip, data):
    model = data["model"]
    start = weights(model)
    data.pop("runs", None)
    with pytest.raises(UsageError, match="sgdd"):
        kcompile(ip, "model -o runs --no-plot", BODY.format(optimizer="compare(adam, sgdd)"))
    assert "runs" not in data and same(weights(model), start) and not model.compiled


def test_preflight_errors_in_any_alternative_stop_the_cell(ip, data):
    body = BODY.format(optimizer="adam").replace("loss = mse", "loss = compare(mse, poisson)")
    data["y_train"] = data["y_train"] - 100.0  # negative targets: poisson cannot fit them
    with pytest.raises(UsageError, match="preflight stopped the cell"):
        kcompile(ip, "model -o runs --no-plot", body)


def test_dry_run_lists_every_run_and_trains_nothing(ip, data, capsys):
    model = data["model"]
    kcompile(ip, "model --dry-run", BODY.format(optimizer="compare(adam, sgd(momentum=0.9))"))
    printed = capsys.readouterr().out
    assert "compare(...) would train 2 runs of model, each from the same weights" in printed
    assert "run 2: optimizer=sgd(momentum=0.9)" in printed
    assert "keras.optimizers.SGD(momentum=0.9)" in printed
    assert not model.compiled


def test_export_and_keep_without_compare_are_refused(ip, data, tmp_path):
    with pytest.raises(UsageError, match="--export writes one run"):
        kcompile(
            ip, f"model --no-plot --export {tmp_path}", BODY.format(optimizer="compare(adam, sgd)")
        )
    with pytest.raises(UsageError, match="--keep and --rank-by rank the runs of compare"):
        kcompile(ip, "model --keep best", BODY.format(optimizer="adam"))


def test_the_python_api_compares_specs_with_the_same_start(data, keras):
    model = data["model"]
    start = weights(model)
    runs = kreg.compare(
        model,
        [{"optimizer": "sgd"}, {"optimizer": keras.optimizers.Adam(0.05)}, "optimizer = sgd"],
        loss="mse",
        x=data["x_train"],
        y=data["y_train"],
        epochs=2,
        mode="off",
    )
    assert runs.labels == ["optimizer=sgd", "optimizer=Adam", "optimizer=sgd"]
    assert runs.runs[0].history == runs.runs[2].history
    assert same(weights(model), start) and runs.rank_by == "loss"


def test_one_figure_for_the_whole_comparison(ip, data):
    runs = kreg.compare(
        data["model"],
        ["optimizer = adam", "optimizer = sgd"],
        loss="mse",
        metrics="[mae]",
        x=data["x_train"],
        y=data["y_train"],
        epochs=2,
        validation_split=0.25,
        mode="off",
    )
    view = runs.view
    assert view.panels() == ["loss", "mean_absolute_error"]
    assert view.png.startswith(b"\x89PNG") and view.redraws >= 1
    assert [len(run["loss"]) for run in view.history] == [2, 2]
    assert runs.plot().data == view.png


def test_the_widget_compares_the_forms_it_was_given(data, keras):
    from kreg.ui.widgets import CompileWidget

    model = data["model"]
    start = weights(model)
    ui = CompileWidget(model, data["x_train"], data["y_train"], epochs=2)
    ui.optimizer.value = "sgd"
    ui.comparing.add_button.click()
    assert ui.comparing.alternatives[0][1].startswith("optimizer = sgd")
    assert "<li><code>loss = mean_squared_error; optimizer = sgd" in ui.comparing.listing.value
    ui.optimizer.value = "adam"
    ui.comparing.run_button.click()
    ui.comparing.wait(120)
    runs = ui.comparing.runset
    assert runs is not None, ui.status.value
    assert [label.partition("(")[0] for label in runs.labels] == [
        "optimizer=sgd",
        "optimizer=adam",
    ], runs.labels
    assert all(len(run.history["loss"]) == 2 for run in runs.runs)
    assert bytes(ui.plot.value)[:4] == b"\x89PNG" and "run 2/2" in ui.progress_line.value
    assert "kreg-runset" in ui.comparing.table.value and "best by loss" in ui.status.value
    assert ui.model is model and same(weights(model), start)
    assert not ui.train_button.disabled, "the buttons come back after the comparison"


def test_an_interrupt_between_runs_keeps_the_finished_ones(data, monkeypatch):
    import kreg.training.compare as module

    copies = []
    real = module.fresh_copy

    def interrupted_second(model, weights_, plan):
        copies.append(plan)
        if len(copies) == 2:
            raise KeyboardInterrupt
        return real(model, weights_, plan)

    monkeypatch.setattr(module, "fresh_copy", interrupted_second)
    runs = kreg.compare(
        data["model"],
        ["optimizer = adam", "optimizer = sgd", "optimizer = rmsprop"],
        loss="mse",
        x=data["x_train"],
        y=data["y_train"],
        epochs=1,
        mode="off",
    )
    assert len(runs.runs) == 1 and runs.labels == ["optimizer=adam"]
    assert runs.skipped == ["optimizer=sgd", "optimizer=rmsprop"]
