"""Metric verdicts that once were wrong on real libraries, each against a real fit/evaluate.

The components (tests/realcases) are written here and each reproduces a case of the survey of
real third-party Keras libraries (issue 14); the verdict asserted is what Keras itself does.
"""

from __future__ import annotations

import numpy as np
import pytest

import kreg


def _data(width: int = 3, n: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.uniform(0, 1, (n, width)).astype("float32")
    return x, y


def _model(keras, metric, width: int = 3, **compile_options):
    """A tiny model with ``metric`` as a weighted metric (``metrics=`` never sees weights)."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width, "sigmoid")])
    model.compile("sgd", "mse", weighted_metrics=[metric], **compile_options)
    return model


def test_a_dict_result_passes_and_fit_logs_each_key(keras, realcases):
    """keras-hub's RougeL returns a dict from result(), as Keras allows: it must pass, and
    fit logs each of its keys."""
    report = realcases("precision_recall")
    assert report.ok, str(report)
    assert all(r.outcome == "pass" for r in report.results), str(report)
    x, y = _data()
    labels = (y > 0.5).astype("float32")
    model = _model(keras, kreg.get("realcases:precision_recall"))
    history = model.fit(x, labels, batch_size=8, epochs=2, verbose=0).history
    assert {"precision", "recall"} <= set(history)
    evaluated = model.evaluate(x, labels, verbose=0, return_dict=True)
    metric = kreg.get("realcases:precision_recall")
    metric.update_state(labels, model.predict(x, verbose=0))
    for key, value in metric.result().items():
        assert evaluated[key] == pytest.approx(float(value), abs=1e-6)


def test_a_reset_that_does_nothing_fails_even_when_result_is_the_live_variable(keras, realcases):
    """result() returns the state variable itself: kreg once compared it with itself after the
    reset and passed. evaluate() resets metrics first, so twice gives twice the total."""
    report = realcases("live_total")
    assert [r.name for r in report.failures] == ["reset_state"]
    assert "but a fresh metric gives 0." in report["reset_state"].message
    x, y = _data()
    model = _model(keras, kreg.get("realcases:live_total"))
    first = model.evaluate(x, y, verbose=0, return_dict=True)["live_total"]
    second = model.evaluate(x, y, verbose=0, return_dict=True)["live_total"]
    assert second == pytest.approx(2 * first, rel=1e-5)


def test_sample_weight_is_never_passed_without_being_seen(keras, realcases):
    """A metric that ignores sample_weight (keras-hub's EditDistance): on data where every
    sample gives the same value the check cannot tell, and says so (skipped, not passed);
    on other data it fails, as evaluate() with weights shows."""
    uniform = realcases("uniform_mean_error")
    assert uniform["sample_weight"].outcome == "skipped"
    assert uniform["sample_weight"].message.startswith("inconclusive")
    report = realcases("unweighted_mean_error")
    assert [r.name for r in report.failures] == ["sample_weight"]
    assert "(sample_weight was ignored)" in report["sample_weight"].message
    x, y = _data()
    model = _model(keras, kreg.get("realcases:unweighted_mean_error"))
    weights = np.r_[np.zeros(8), np.ones(8)].astype("float32")
    plain = model.evaluate(x, y, verbose=0, return_dict=True)["unweighted_mean_error"]
    weighted = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    assert weighted["unweighted_mean_error"] == pytest.approx(plain)
    graph_safe = _model(keras, kreg.get("realcases:graph_safe_mean_error"))
    graph_safe.set_weights(model.get_weights())
    honest = graph_safe.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    assert honest["graph_safe_mean_error"] != pytest.approx(plain)


def test_eager_only_is_a_tag_that_is_verified(keras, realcases):
    """A NumPy metric fails inside tf.function: untagged it fails; tagged 'eager-only' it warns
    that fit needs run_eagerly=True (fit fails without, trains with it). A tagged metric that
    does work in a graph is told to drop the tag."""
    untagged = realcases("numpy_median_untagged")
    assert [r.name for r in untagged.failures] == ["tf_function"]
    assert "tag it 'eager-only'" in untagged["tf_function"].message
    tagged = realcases("numpy_median_error")
    assert tagged.ok and tagged["tf_function"].outcome == "warn"
    assert "run_eagerly=True" in tagged["tf_function"].message
    needless = realcases("graph_safe_mean_error")
    assert needless["tf_function"].outcome == "warn"
    assert "drop the tag" in needless["tf_function"].message
    x, y = _data()
    with pytest.raises(Exception, match="numpy"):
        _model(keras, kreg.get("realcases:numpy_median_error")).fit(x, y, verbose=0)
    history = _model(keras, kreg.get("realcases:numpy_median_error"), run_eagerly=True).fit(
        x, y, verbose=0
    )
    assert np.isfinite(history.history["numpy_median_error"]).all()
    graph = _model(keras, kreg.get("realcases:graph_safe_mean_error")).fit(x, y, verbose=0)
    assert np.isfinite(graph.history["graph_safe_mean_error"]).all()


def test_ragged_examples_are_checked_not_crashed(keras, realcases):
    """A ragged example once made kreg.check raise TypeError; now every check runs on it."""
    import tensorflow as tf

    report = realcases("token_overlap")
    assert report.ok, str(report)
    assert report["sample_weight"].outcome == "pass", str(report)
    assert report["tf_function"].outcome == "pass"
    true = tf.ragged.constant([[1, 2, 3], [4, 5], [6]])
    pred = tf.ragged.constant([[1, 0, 3], [0, 0], [6]])
    metric = kreg.get("realcases:token_overlap")

    @tf.function  # as evaluate() runs a metric
    def update(a, b):
        metric.update_state(a, b)

    update(true, pred)
    assert float(metric.result()) == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_check_never_raises_because_of_the_component(keras):
    """Every exception a component raises becomes a failed check in the report."""

    class Explodes(keras.metrics.Metric):
        def __init__(self, name="explodes", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_variable((), initializer="zeros", name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(1.0)

        def result(self):
            raise TypeError("result() is broken")

    report = kreg.check(Explodes)
    assert not report.ok
    assert report["update_and_result"].outcome == "fail"
    assert "result() is broken" in report["update_and_result"].message

    def bad_example():
        raise RuntimeError("the example's data is missing")

    report = kreg.check("mean_absolute_error", "loss", example=bad_example)
    assert not report.ok
    assert any("the example's data is missing" in r.message for r in report.failures)
