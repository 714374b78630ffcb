"""The ``%%kcompile`` grammar, parsed with ``ast`` only (no registry, no Keras)."""

from __future__ import annotations

import pytest

from kreg.cell.parse import Call, Name, Quoted, parse_cell
from kreg.errors import CellError


def test_values_parse_into_literals_names_and_calls():
    cell = parse_cell(
        "loss = huber(1.5, delta=-2)\n"
        "optimizer = 'adam'\n"
        "metrics = [mae, (rmse,)]\n"
        "loss_weights = {'out': 0.5}\n"
        "epochs = 3  # a comment"
    )
    loss = cell.values["loss"]
    assert isinstance(loss, Call) and loss.args == (1.5,) and dict(loss.kwargs) == {"delta": -2}
    assert cell.values["optimizer"] == "adam"
    mae, pair = cell.values["metrics"]
    assert isinstance(mae, Name) and isinstance(pair, tuple)
    assert cell.values["loss_weights"] == {"out": 0.5} and cell.values["epochs"] == 3
    assert (cell.positions["epochs"].line, cell.positions["epochs"].column) == (6, 1)
    assert not isinstance(cell.values["optimizer"], Quoted)


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("loss = a.b", (2, 8), "attribute access"),
        ("loss = x[0]", (2, 8), "indexing"),
        ("loss = lambda t, p: t", (2, 8), "a lambda"),
        ("import os", (2, 1), "only `key = value` lines"),
        ("epoch = 3", (2, 1), "Did you mean 'epochs'"),
        ("epochs = 1\nepochs = 2", (3, 1), "set twice"),
        ("loss = __import__('os')", (2, 8), "names starting with '_'"),
        ("loss = huber(\n", (2, 13), "not a `key = value` line"),
    ],
)
def test_anything_but_data_is_refused_with_its_place(body, where, message):
    with pytest.raises(CellError, match=message) as caught:
        parse_cell(body)
    assert (caught.value.line, caught.value.column) == where
