"""Preflight in ``%%kcompile`` on a real IPython shell: errors stop the cell and touch nothing,
warnings show under the header line, and the flags --no-preflight, --force and --dry-run."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from IPython.core.error import UsageError

from tests.preflight_cases import BINARY, IDS3, REAL50, X, mlp


def kcompile(ip, line: str, body: str):
    return ip.run_cell_magic("kcompile", line, textwrap.dedent(body).strip("\n"))


@pytest.fixture
def notebook(ip, keras):
    keras.utils.set_random_seed(0)
    ip.user_ns.update({"x": X[:64], "ids": IDS3[:64], "labels": BINARY[:64], "prices": REAL50[:64]})
    return ip.user_ns


def _state(model):
    return (
        [w.copy() for w in model.get_weights()],
        model.optimizer,
        getattr(model, "loss", None),
        model.compiled,
    )


def test_an_error_stops_the_cell_and_leaves_weights_and_compile_state(notebook, ip):
    model = mlp(1)  # linear output
    model.compile(loss="mse", optimizer="sgd")
    notebook["net"] = model
    weights, optimizer, loss, compiled = _state(model)
    with pytest.raises(UsageError) as stopped:
        kcompile(
            ip,
            "net",
            """
            loss = binary_crossentropy
            optimizer = adam
            x = x
            y = labels
            epochs = 1
            """,
        )
    message = str(stopped.value)
    assert "preflight stopped the cell" in message
    assert "probabilities-on-unbounded" in message
    assert "fix: loss = binary_crossentropy(from_logits=True)" in message
    assert "--force" in message and "--no-preflight" in message
    assert notebook["net"] is model
    assert model.optimizer is optimizer and model.loss == loss and model.compiled == compiled
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_a_warning_prints_under_the_header_and_stays_in_the_run(notebook, ip, capsys):
    notebook["net"] = mlp(1)
    kcompile(
        ip,
        "net -o run --no-plot",
        """
        loss = mse
        metrics = [acc]
        x = x
        y = prices
        epochs = 1
        """,
    )
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if "steps_per_execution" in line)
    assert lines[header + 1].startswith("kreg: preflight warning [accuracy-on-regression]")
    run = notebook["run"]
    assert [f.code for f in run.findings] == ["accuracy-on-regression"]
    assert run.epochs_completed == 1
    assert "preflight warning" in run.summary()


def test_force_trains_despite_errors_and_keeps_them_in_the_run(notebook, ip, capsys):
    notebook["net"] = mlp(1)
    kcompile(
        ip,
        "net -o run --no-plot --force",
        """
        loss = binary_crossentropy
        x = x
        y = labels
        epochs = 1
        """,
    )
    assert "kreg: preflight error [probabilities-on-unbounded]" in capsys.readouterr().out
    run = notebook["run"]
    assert run.epochs_completed == 1 and run.findings[0].severity == "error"


def test_no_preflight_skips_the_checks(notebook, ip):
    notebook["net"] = mlp(1)
    kcompile(
        ip,
        "net -o run --no-plot --no-preflight",
        """
        loss = binary_crossentropy
        x = x
        y = labels
        epochs = 1
        """,
    )
    assert notebook["run"].findings == [] and notebook["run"].epochs_completed == 1


def test_dry_run_shows_the_findings_and_changes_nothing(notebook, ip, capsys):
    model = mlp(3, "softmax")
    notebook["net"] = model
    kcompile(
        ip,
        "net --dry-run",
        """
        loss = categorical_crossentropy
        x = x
        y = ids
        """,
    )
    shown = capsys.readouterr().out
    assert "Preflight (1 error; training would stop):" in shown
    assert "ids-with-categorical" in shown
    assert "fix: loss = sparse_categorical_crossentropy" in shown
    assert not model.compiled


def test_a_compile_only_cell_is_checked_too(notebook, ip):
    notebook["net"] = mlp(1, "softmax")
    with pytest.raises(UsageError, match="softmax-one-unit"):
        kcompile(ip, "net", "loss = binary_crossentropy")
    assert not notebook["net"].compiled


def test_keras_first_step_errors_come_back_as_findings(notebook, ip):
    """With preflight off, Keras's own rank error is translated into a finding with a fix."""
    notebook["net"] = mlp(3, "softmax")
    with pytest.raises(UsageError) as failed:
        kcompile(
            ip,
            "net --no-plot --no-preflight",
            """
            loss = categorical_crossentropy
            x = x
            y = ids
            epochs = 1
            """,
        )
    message = str(failed.value)
    assert "Keras failed on the first batch; kreg reads it as:" in message
    assert "error [rank-mismatch]" in message
    assert "fix: loss = sparse_categorical_crossentropy" in message
    assert "Received: target.shape=(32,), output.shape=(32, 3)" in message  # Keras's own words


def test_the_widget_shows_findings_and_asks_before_training_despite_errors(keras):
    from kreg.widgets import CompileWidget

    model = mlp(1)  # linear output
    ui = CompileWidget(model, X[:64], BINARY[:64], epochs=1, batch_size=32)
    ui.loss.value = "binary_crossentropy"
    assert "probabilities-on-unbounded" in ui.findings_view.value  # under the form, before Train
    assert "from_logits=True" in ui.findings_view.value
    ui.train_button.click()  # the first click asks
    assert ui._thread is None and not model.compiled
    assert ui.train_button.description == "Train anyway"
    assert "Train anyway" in ui.status.value
    ui.train_button.click()  # the second one trains
    ui.wait(120)
    assert ui.run is not None and ui.run.epochs_completed == 1, ui.status.value
    assert ui.run.findings[0].code == "probabilities-on-unbounded"
    ui.loss.value = "mean_squared_error"  # a correct form: nothing to show, nothing to ask
    assert ui.findings_view.value == "" and ui.train_button.description == "Train"


def test_kreg_train_shows_the_findings_and_stops_on_errors(notebook, ip, tmp_path, capsys):
    from kreg.ui import cli

    notebook["net"] = mlp(1)
    kcompile(
        ip,
        f"net --no-plot --force --export {tmp_path / 'export'}",
        """
        loss = binary_crossentropy
        optimizer = sgd
        x = x
        y = labels
        epochs = 1
        """,
    )
    capsys.readouterr()
    folder = str(tmp_path / "export")
    arguments = ["train", folder, "--strategy", "default", "--output", str(tmp_path / "out")]
    assert cli.main(arguments) == 2
    said = capsys.readouterr()
    assert "preflight stopped kreg train" in said.err + said.out
    assert "fix: loss = binary_crossentropy(from_logits=True)" in said.err + said.out
    assert not (tmp_path / "out" / "model.keras").exists()
    assert cli.main([*arguments, "--force", "--verbose", "0"]) == 0
    said = capsys.readouterr().out
    assert "kreg train: preflight error [probabilities-on-unbounded]" in said
    assert (tmp_path / "out" / "model.keras").exists()


def test_a_label_out_of_range_in_the_first_step_comes_back_as_a_finding(notebook, ip):
    """The error TensorFlow raises while running the step (not while tracing it)."""
    from tests.preflight_cases import IDS5

    notebook.update(net=mlp(3, "softmax"), ids5=IDS5[:64])
    with pytest.raises(UsageError) as failed:
        kcompile(
            ip,
            "net --no-plot --no-preflight",
            """
            loss = sparse_categorical_crossentropy
            x = x
            y = ids5
            epochs = 1
            """,
        )
    message = str(failed.value)
    assert "kreg reads it as:" in message and "error [too-few-units]" in message, message
    assert "fix: Dense(5, ...) as the last layer" in message


def test_kreg_show_prints_the_declaration(capsys):
    from kreg.ui import cli

    assert cli.main(["show", "auc"]) == 0
    shown = capsys.readouterr().out
    assert (
        "Expects:        y_true binary, y_pred probabilities (logits when from_logits=True), "
        "task classification"
    ) in shown
    assert cli.main(["show", "adam"]) == 0
    assert "Expects:        -" in capsys.readouterr().out
