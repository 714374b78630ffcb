"""kreg-keras-hub as users get it: discovered, checked against the truth, trained, saved.

The truth comes from real Keras 3.15 / TensorFlow 2.21 runs with keras-hub 0.32.0 (see the
README). Perplexity trains in fit() (graph mode and XLA), streams, resets, takes per-token
weights and round-trips through a .keras file loaded in a fresh process; one weight per
sequence makes it raise. EditDistance, Bleu, RougeL and RougeN compute in Python: fit() and
evaluate() raise in graph mode and work with run_eagerly=True, where they stream and reset
but ignore sample_weight. RougeL and RougeN need rouge-score, which the bridge leaves
optional: without it they cannot be built. The real defects are in the TRUTH table.
"""

from __future__ import annotations

import functools
import importlib.util
import json

import numpy as np
import pytest

import kreg
from kreg.testing import (
    MUST_RUN,
    assert_listing_imports_nothing,
    assert_verdict,
    check_quietly,
    each_entry,
    get_quietly,
    json_from_fresh_process,
)

PLUGIN = "keras_hub"
ROUGE_SCORE = importlib.util.find_spec("rouge_score") is not None
"""Whether the optional rouge-score is installed (`pip install kreg-keras-hub[rouge]`)."""
needs_rouge_score = pytest.mark.skipif(not ROUGE_SCORE, reason="rouge-score is not installed")

# Perplexity: real Keras: update_state(y, logits, sample_weight=w) with w.shape == (batch,)
# raises "InvalidArgumentError: Incompatible shapes: [4,5] vs. [4]" (with or without
# mask_token_id), where keras.metrics.SparseCategoricalCrossentropy takes the same weights
# and a weight of 0 drops the sequence. Per-token weights (batch, seq_len) are applied
# exactly. kreg's sample_weight check uses (batch,) weights: it must fail.
SHAPE = ("sample-weight-shape",)
# EditDistance, Bleu, RougeL, RougeN: fit() and evaluate() in graph mode raise (each its own
# error, see test_declared_defects_are_real); with run_eagerly=True they work. Tagged
# 'eager-only': kreg's tf_function check must warn (not fail) and say run_eagerly=True.
EAGER = ("needs-run-eagerly",)
# The same four: evaluate(sample_weight=w) with run_eagerly=True gives the unweighted value,
# and weight 0 is not leaving the sample out. kreg's sample_weight check must fail.
IGNORED = ("sample-weight-ignored",)
# Bleu(tokenizer=f): from_config(get_config()) keeps the tokenizer as a serialized dict, and
# updating the rebuilt metric raises TypeError. No check builds it with a tokenizer.
TOKENIZER = ("tokenizer-not-saved",)
# RougeL/RougeN: result() is {"precision", "recall", "f1_score"}; evaluate() logs those keys
# bare, so with both metrics in one model RougeL's values are overwritten by RougeN's.
DICT_KEYS = ("dict-result-keys",)
ROUGE = ("construct",) if not ROUGE_SCORE else ("sample_weight",)
"""Without rouge-score nothing else runs: kreg's construct check fails, naming the package."""

# entry name: (kreg verdict the truth calls for, checks that must fail, declared defects)
TRUTH: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # Real Keras: a language model with Perplexity(from_logits=True, mask_token_id=0) trains
    # in graph mode and with jit_compile=True; evaluate() with per-token weights equals
    # update_state on the predictions; two updates equal one; it saves and loads.
    "perplexity": ("failed", ("sample_weight",), SHAPE),
    # Real Keras (run_eagerly=True): evaluate() on 16 sequences in 4 batches equals one
    # update on all of them (0.65); sample weights are ignored.
    "edit_distance": ("failed", ("sample_weight",), EAGER + IGNORED),
    # Real Keras (run_eagerly=True): corpus BLEU over two batches equals one update (0.4324),
    # weights are ignored (0.4324 with sample 0 weighted 0; 0.4781 without sample 0).
    "bleu": ("failed", ("sample_weight",), EAGER + IGNORED + TOKENIZER),
    "rouge_l": ("failed", ROUGE, DICT_KEYS + EAGER + IGNORED),
    "rouge_n": ("failed", ROUGE, DICT_KEYS + EAGER + IGNORED),
}
STRUCTURAL = ("base_class", "required_methods", "config_covers_init")
"""What still runs on a component that cannot be built."""


_report = functools.cache(check_quietly)


def _quietly(component: str, **config: object) -> object:
    return get_quietly(f"{PLUGIN}:{component}", **config)


def test_discovered_through_its_entry_point():
    info = next(p for p in kreg.plugins() if p.name == PLUGIN)
    assert info.status == "ok", info.error
    assert info.source == "entry point of kreg-keras-hub"
    assert {k: n for k, n in info.counts.items() if n} == {"metric": 5}
    assert sorted(e.name for e in kreg.entries() if e.plugin == PLUGIN) == sorted(TRUTH)
    assert kreg.lookup("Perplexity").qualified_name == f"{PLUGIN}:perplexity"
    assert kreg.lookup("EditDistance").qualified_name == f"{PLUGIN}:edit_distance"
    assert kreg.lookup("levenshtein_distance").qualified_name == f"{PLUGIN}:edit_distance"
    assert kreg.lookup("RougeL").qualified_name == f"{PLUGIN}:rouge_l"
    assert kreg.lookup("Bleu").qualified_name == f"{PLUGIN}:bleu"
    for name, (_, _, defects) in TRUTH.items():
        declared = tuple(tag for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects)
        assert declared == tuple(sorted(defects)), name


def test_listing_imports_nothing():
    """`import kreg` and listing the bridge's entries import neither the library nor TF."""
    assert_listing_imports_nothing(PLUGIN, 5, ["keras_hub", "rouge_score", "tensorflow_text"])


@each_entry(PLUGIN)
def test_verdicts(entry):
    """kreg's verdict and every check's outcome: the truth has each check pass but ``failing``.

    An entry tagged 'eager-only' gets a warning from the tf_function check, which must say
    that fit() needs run_eagerly=True.
    """
    verdict, failing, defects = TRUTH[entry.name]
    report = _report(entry.qualified_name)
    must_run = MUST_RUN["metric"] if "construct" not in failing else STRUCTURAL
    warning = ()
    if "eager-only" in entry.tags and "construct" not in failing:
        warning = ("tf_function",)
        assert "run_eagerly=True" in report["tf_function"].message, str(report)
    assert_verdict(report, verdict, failing, warning=warning, defects=defects, must_run=must_run)


@pytest.mark.parametrize("name", list(TRUTH))
def test_check_report_shows_declared_defects(name):
    """kreg.get's warning says "`kreg check ...` shows it": the report must name each defect."""
    report = _report(f"{PLUGIN}:{name}")
    for tag, _ in kreg.lookup(f"{PLUGIN}:{name}").defects:
        assert tag in str(report), f"{tag!r} is not in the text report:\n{report}"
        assert tag in json.dumps(report.as_dict()), f"{tag!r} is not in the JSON report"


@pytest.mark.skipif(ROUGE_SCORE, reason="rouge-score is installed")
def test_missing_rouge_score_is_named():
    """Without rouge-score, kreg.get and kreg check name the package and the pip install."""
    for name in ("rouge_l", "rouge_n"):
        with pytest.raises(kreg.ConfigError, match="pip install rouge-score"):
            _quietly(name)
        assert "pip install rouge-score" in _report(f"{PLUGIN}:{name}")["construct"].message


# --- real Keras ------------------------------------------------------------------------


def _tokens(n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (n, 5) in 1..6 and next-token targets, every third sequence padded with 0."""
    x = np.random.default_rng(0).integers(1, 7, size=(n, 5)).astype("int32")
    x[::3, -2:] = 0
    y = np.roll(x, -1, axis=1)
    y[:, -1] = 0
    return x, y


def _language_model(**compile_args: object):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,), dtype="int32"), keras.layers.Embedding(7, 4), keras.layers.Dense(7)]
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss, **compile_args)
    return model


def _decoder(metric: object, **compile_args: object):
    """Logits (trained) and their argmax token ids (the metric's output), one model."""
    import keras

    class ArgMax(keras.layers.Layer):
        def call(self, logits):
            return keras.ops.cast(keras.ops.argmax(logits, axis=-1), "int32")

    keras.utils.set_random_seed(0)
    tokens = keras.Input((5,), dtype="int32")
    logits = keras.layers.Dense(7)(keras.layers.Embedding(7, 4)(tokens))
    model = keras.Model(tokens, {"logits": logits, "ids": ArgMax()(logits)})
    model.compile(
        optimizer="adam",
        loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True), "ids": None},
        weighted_metrics={"ids": [metric]},
        **compile_args,
    )
    return model


def _texts(metrics: list[object], **compile_args: object):
    """A model that passes its text input through to a metric, next to a trained score."""
    import keras

    class Echo(keras.layers.Layer):
        def call(self, text):
            return text

        def compute_output_spec(self, text):
            return keras.KerasTensor(text.shape, dtype="string")

    keras.utils.set_random_seed(0)
    numbers = keras.Input((2,), name="numbers")
    text = keras.Input((), dtype="string", name="text")
    outputs = {"score": keras.layers.Dense(1)(numbers), "text": Echo()(text)}
    model = keras.Model({"numbers": numbers, "text": text}, outputs)
    model.compile(
        optimizer="sgd",
        loss={"score": "mse", "text": None},
        weighted_metrics={"text": metrics},
        **compile_args,
    )
    return model


def _text_data(example: dict[str, np.ndarray], weights: np.ndarray | None = None):
    """The example as a dataset of two batches of two (NumPy strings do not go through fit)."""
    import tensorflow as tf

    n = len(example["y_pred"])
    x = {"numbers": np.ones((n, 2), "float32"), "text": example["y_pred"]}
    y = {"score": np.zeros((n, 1), "float32"), "text": example["y_true"]}
    parts = (x, y) if weights is None else (x, y, {"score": weights, "text": weights})
    return tf.data.Dataset.from_tensor_slices(parts).batch(2)


def _half(y: np.ndarray) -> dict[str, np.ndarray]:
    """The second half of the targets, for both outputs of :func:`_decoder`."""
    return {"logits": y[8:], "ids": y[8:]}


def _evaluate(model, data) -> dict[str, float]:
    return model.evaluate(data, verbose=0, return_dict=True)


def test_declared_defects_are_real():
    """Each declared defect, shown on keras-hub itself: drop the declaration once it is fixed.

    Those of RougeL and RougeN need rouge-score: see test_rouge_defects_are_real.
    """
    import keras
    import keras_hub
    import tensorflow as tf
    from kreg_keras_hub.plugin import translations

    # sample-weight-shape: one weight per sequence raises; Keras's own metric takes it.
    x, y = _tokens()
    logits = np.random.default_rng(1).normal(size=(16, 5, 7)).astype("float32")
    per_sequence = np.r_[0.0, np.ones(15)].astype("float32")
    for mask in (None, 0):
        perplexity = keras_hub.metrics.Perplexity(from_logits=True, mask_token_id=mask)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
            perplexity.update_state(y, logits, sample_weight=per_sequence)
    keras_own = []
    for labels, scores, weights in ((y, logits, per_sequence), (y[1:], logits[1:], None)):
        metric = keras.metrics.SparseCategoricalCrossentropy(from_logits=True)
        metric.update_state(labels, scores, sample_weight=weights)
        keras_own.append(float(metric.result()))
    assert keras_own[0] == pytest.approx(keras_own[1], rel=1e-5)
    # ...while per-token weights are applied exactly: a row of zeros drops the sequence.
    per_token = np.repeat(per_sequence[:, None], 5, axis=1)
    results = []
    for labels, scores, weights in ((y, logits, per_token), (y[1:], logits[1:], None)):
        perplexity = keras_hub.metrics.Perplexity(from_logits=True)
        perplexity.update_state(labels, scores, sample_weight=weights)
        results.append(float(perplexity.result()))
    assert results[0] == pytest.approx(results[1], rel=1e-5)

    # needs-run-eagerly and sample-weight-ignored, EditDistance: fit() in graph mode raises.
    targets = {"logits": y, "ids": y}
    with pytest.raises(NotImplementedError, match=r"symbolic tf\.Tensor"):
        _decoder(keras_hub.metrics.EditDistance()).fit(x, targets, batch_size=4, verbose=0)
    eager = _decoder(keras_hub.metrics.EditDistance(), run_eagerly=True)
    assert np.isfinite(eager.fit(x, targets, batch_size=4, verbose=0).history["ids_edit_distance"])
    half = np.r_[np.zeros(8), np.ones(8)].astype("float32")
    weights = {"logits": np.repeat(half[:, None], 5, axis=1), "ids": half}
    plain, weighted, second = (
        eager.evaluate(*data, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
        for *data, w in [(x, targets, None), (x, targets, weights), (x[8:], _half(y), None)]
    )
    key = "ids_edit_distance"
    one_update = keras_hub.metrics.EditDistance()
    one_update.update_state(y, eager.predict(x, verbose=0)["ids"])
    assert plain[key] == pytest.approx(float(one_update.result()))  # four batches stream
    assert weighted[key] == pytest.approx(plain[key])  # the first half weighted 0...
    assert second[key] != pytest.approx(plain[key], abs=1e-3)  # ...is not the second half

    # needs-run-eagerly and sample-weight-ignored, Bleu: evaluate() in graph mode raises.
    example = translations()
    with pytest.raises(ValueError, match="to_list can only be used in eager mode"):
        _evaluate(_texts([keras_hub.metrics.Bleu()]), _text_data(example))
    eager = _texts([keras_hub.metrics.Bleu()], run_eagerly=True)
    bleu = _evaluate(eager, _text_data(example))["text_bleu"]
    one_update = keras_hub.metrics.Bleu()
    one_update.update_state(example["y_true"], example["y_pred"])
    assert bleu == pytest.approx(float(one_update.result()), rel=1e-5)  # two batches stream
    first_dropped = np.r_[0.0, np.ones(3)].astype("float32")
    assert _evaluate(eager, _text_data(example, first_dropped))["text_bleu"] == pytest.approx(bleu)
    without_first = keras_hub.metrics.Bleu()
    without_first.update_state(example["y_true"][1:], example["y_pred"][1:])
    assert float(without_first.result()) != pytest.approx(bleu, abs=1e-3)

    # tokenizer-not-saved: from_config(get_config()), as load_model rebuilds compiled metrics.
    @keras.saving.register_keras_serializable(package="kreg_keras_hub_test")
    def split(text):
        return tf.strings.split(text)

    saved = json.dumps(keras.saving.serialize_keras_object(keras_hub.metrics.Bleu(split)))
    loaded = keras.saving.deserialize_keras_object(json.loads(saved))
    with pytest.raises(TypeError, match="not callable"):
        loaded.update_state(example["y_true"], example["y_pred"])


@needs_rouge_score
def test_rouge_defects_are_real():
    """needs-run-eagerly, sample-weight-ignored and dict-result-keys of RougeL and RougeN."""
    import keras_hub
    from kreg_keras_hub.plugin import summaries

    example = summaries()
    with pytest.raises(TypeError, match="SymbolicTensor"):
        _evaluate(_texts([keras_hub.metrics.RougeL()]), _text_data(example))
    alone = {}
    for cls in (keras_hub.metrics.RougeL, keras_hub.metrics.RougeN):
        eager = _texts([cls()], run_eagerly=True)
        alone[cls.__name__] = _evaluate(eager, _text_data(example))
        first_dropped = np.r_[0.0, np.ones(3)].astype("float32")
        weighted = _evaluate(eager, _text_data(example, first_dropped))
        assert weighted["f1_score"] == pytest.approx(alone[cls.__name__]["f1_score"])
    assert alone["RougeL"]["f1_score"] != pytest.approx(alone["RougeN"]["f1_score"], abs=1e-3)
    both = _texts([keras_hub.metrics.RougeL(), keras_hub.metrics.RougeN()], run_eagerly=True)
    logged = _evaluate(both, _text_data(example))
    assert set(logged) == {"loss", "precision", "recall", "f1_score"}  # RougeL's are gone
    assert logged["f1_score"] == pytest.approx(alone["RougeN"]["f1_score"])


def test_real_fit(tmp_path):
    """compile + fit a language model with Perplexity from kreg.get; saved, then loaded in a
    fresh process that imports kreg (not keras_hub), without custom_objects."""
    x, y = _tokens()
    padding = (y != 0).astype("float32")  # per-token weights, as Keras's sequence losses need
    model = _language_model(
        metrics=[_quietly("perplexity", from_logits=True, mask_token_id=0)],
        weighted_metrics=[_quietly("perplexity", from_logits=True, name="weighted_perplexity")],
    )
    history = model.fit(x, y, sample_weight=padding, batch_size=4, epochs=3, verbose=0).history
    assert set(history) == {"loss", "perplexity", "weighted_perplexity"}
    assert history["loss"][-1] < history["loss"][0]
    assert history["perplexity"][-1] < history["perplexity"][0]

    evaluated = model.evaluate(
        x, y, sample_weight=padding, batch_size=4, verbose=0, return_dict=True
    )
    # Masking padding (id 0) and weighting it 0 are the same thing.
    assert evaluated["perplexity"] == pytest.approx(evaluated["weighted_perplexity"], rel=1e-5)
    masked = _quietly("perplexity", from_logits=True, mask_token_id=0)
    masked.update_state(y, model.predict(x, verbose=0))
    assert evaluated["perplexity"] == pytest.approx(float(masked.result()), rel=1e-5)

    model.save(tmp_path / "language_model.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y, w=padding)
    loaded = json_from_fresh_process(LOADER, str(tmp_path))
    module = "keras_hub.src.metrics.perplexity"  # keras-hub's class, not a stand-in
    assert loaded["metrics"] == [
        [module, "perplexity", True, 0],
        [module, "weighted_perplexity", True, None],
    ]
    for key, value in evaluated.items():
        assert loaded["evaluation"][key] == pytest.approx(value, rel=1e-5), key


LOADER = """
    import json, sys
    import numpy as np
    import kreg  # its import hook registers plugin components with Keras: no custom_objects
    import keras

    model = keras.models.load_model(sys.argv[1] + "/language_model.keras")
    data = np.load(sys.argv[1] + "/data.npz")
    evaluation = model.evaluate(
        data["x"], data["y"], sample_weight=data["w"], batch_size=4, verbose=0, return_dict=True
    )
    metrics = [m for m in model.metrics if type(m).__name__ == "Perplexity"]
    metrics += [m for c in model.metrics for m in getattr(c, "metrics", [])]
    print(json.dumps({
        "metrics": [
            [type(m).__module__, m.name, m.from_logits, m.mask_token_id]
            for m in metrics if type(m).__name__ == "Perplexity"
        ],
        "evaluation": evaluation,
    }))
"""
