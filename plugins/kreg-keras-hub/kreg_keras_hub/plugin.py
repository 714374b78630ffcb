"""The kreg hooks of kreg-keras-hub (entry point ``kreg = keras_hub``): a bridge to keras-hub.

keras-hub (KerasHub, formerly KerasNLP) ships no kreg entry point, so this package
registers the five public metrics of ``keras_hub.metrics``: ``Perplexity``,
``EditDistance``, ``Bleu``, ``RougeL`` and ``RougeN``. Targets are lazy
``"module:Class"`` strings: ``kreg list`` shows them without importing keras-hub or
TensorFlow.

They take three kinds of data, and each example below is the kind it takes:
``Perplexity`` token ids ``(batch, seq_len)`` against per-token logits
``(batch, seq_len, vocab)``; ``EditDistance`` two token sequences per sample (ragged
``(batch, None)``); ``Bleu`` a string per sample against ``(batch, num_references)``
reference strings; ``RougeL``/``RougeN`` a string per sample against one reference
string. Only ``Perplexity`` is made of tensor operations: the other four compute in
Python, so ``fit`` needs ``run_eagerly=True`` (tag ``eager-only``, which ``kreg check``
verifies). ``RougeL``/``RougeN`` also need the optional package ``rouge-score``
(``pip install kreg-keras-hub[rouge]``); without it they cannot be built, and
``kreg check`` fails their ``construct`` check naming the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kreg import hookimpl

METRICS = "keras_hub.metrics"
EAGER_ONLY = "eager-only"

# The defects of keras-hub 0.32 that real Keras 3.15 shows (the tests in tests/ hold the
# evidence). kreg.get warns with the reason the first time a component is built.
_WEIGHT_SHAPE = (
    "sample_weight must have y_true's shape (batch, seq_len): one weight per sequence, shape "
    "(batch,), raises 'Incompatible shapes' in update_state (Keras's own metrics broadcast "
    "it); pass per-token weights, e.g. np.repeat(w[:, None], seq_len, 1)"
)
_WEIGHT_IGNORED = (
    "update_state ignores sample_weight: weighted_metrics= and evaluate(sample_weight=...) "
    "report the unweighted value; leave out the samples instead of weighting them"
)
_NO_GRAPH = {
    "EditDistance": "calls convert_to_numpy, so fit() and evaluate() raise NotImplementedError "
    "('Cannot convert a symbolic tf.Tensor to a numpy array')",
    "Bleu": "counts n-grams in Python (tensor_to_list), so fit() and evaluate() raise "
    "ValueError ('to_list can only be used in eager mode')",
    "Rouge": "loops over the batch in Python to call rouge-score, so fit() and evaluate() "
    "raise TypeError ('SymbolicTensor' object cannot be interpreted as an integer)",
}
_EAGERLY = (
    " in graph mode; compile with run_eagerly=True, or update it outside fit() on decoded output"
)
_TOKENIZER = (
    "a custom tokenizer= is saved as a serialized dict that from_config does not turn back "
    "into a function, so the Bleu of a loaded model raises TypeError ('TrackedDict' object is "
    "not callable) when updated; recompile a loaded model with a new Bleu(tokenizer=...)"
)
_DICT_KEYS = (
    "result() is a dict whose keys fit() and evaluate() log as they are ('precision', "
    "'recall', 'f1_score'), without the metric's name: with RougeL and RougeN (or another "
    "metric named 'precision' or 'recall') in one model, one overwrites the other in the logs "
    "and the history; use one per model, or update them outside fit()"
)


def token_logits() -> dict[str, Any]:
    """Next-token ids ``(4, 5)`` padded with id 0 (masked), and logits ``(4, 5, 7)``.

    Checked with ``from_logits=True, mask_token_id=0``, as a language model is
    evaluated; the four sequences have 5, 3, 5 and 2 real tokens and different
    perplexities, so a sample's weight shows.

    Example:
        >>> data = token_logits()
        >>> data["y_true"].shape, data["y_pred"].shape, data["config"]["mask_token_id"]
        ((4, 5), (4, 5, 7), 0)
    """
    import numpy as np

    tokens = np.array([[5, 3, 1, 2, 6], [4, 4, 6, 0, 0], [2, 6, 3, 5, 1], [1, 2, 0, 0, 0]], "int32")
    logits = np.random.default_rng(0).normal(size=(4, 5, 7)).astype("float32")
    return {"y_true": tokens, "y_pred": logits, "config": {"from_logits": True, "mask_token_id": 0}}


def token_sequences() -> dict[str, Any]:
    """Reference and hypothesis token ids as ragged ``(4, None)`` tensors, unequal lengths.

    Example:
        >>> data = token_sequences()
        >>> data["y_true"].row_lengths().numpy().tolist()
        [4, 3, 5, 2]
    """
    import tensorflow as tf

    reference = tf.ragged.constant([[5, 3, 1, 2], [4, 4, 6], [2, 6, 3, 5, 1], [1, 2]])
    hypothesis = tf.ragged.constant([[5, 1, 2], [4, 4, 6], [2, 6, 6, 5, 1, 1], [3]])
    return {"y_true": reference, "y_pred": hypothesis}


def translations() -> dict[str, Any]:
    """Four translations ``(4,)`` and two reference translations for each ``(4, 2)``.

    Example:
        >>> data = translations()
        >>> data["y_true"].shape, data["y_pred"].shape
        ((4, 2), (4,))
    """
    import numpy as np

    references = np.array(
        [
            ["the cat sat on the mat", "a cat was sitting on the mat"],
            ["it is sunny today in the city", "today the city is sunny"],
            ["i really love contributing to keras", "i love to contribute to keras"],
            ["the quick brown fox jumps over the dog", "a quick brown fox jumped over a dog"],
        ]
    )
    hypotheses = np.array(
        [
            "the cat is on the mat",
            "it is sunny in the city today",
            "i love contributing to keras",
            "the quick fox jumps over the lazy dog",
        ]
    )
    return {"y_true": references, "y_pred": hypotheses}


def summaries() -> dict[str, Any]:
    """Four summaries ``(4,)`` and one reference summary for each ``(4,)``.

    Example:
        >>> data = summaries()
        >>> data["y_true"].shape, data["y_pred"].shape
        ((4,), (4,))
    """
    import numpy as np

    references = np.array(
        [
            "the tiny little cat was found under the big funny bed",
            "i really love contributing to keras hub",
            "it is sunny today in the city",
            "the quick brown fox jumps over the dog",
        ]
    )
    hypotheses = np.array(
        [
            "the cat was under the bed",
            "i love contributing to keras hub",
            "today the city is sunny",
            "a quick brown dog jumps over the fox",
        ]
    )
    return {"y_true": references, "y_pred": hypotheses}


def _eager(cls: str) -> str:
    return f"update_state {_NO_GRAPH[cls]}{_EAGERLY}"


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    """Perplexity, edit distance, BLEU, ROUGE-L and ROUGE-N."""
    register(
        f"{METRICS}:Perplexity",
        "perplexity",
        example=token_logits,
        tags=["text", "language-model"],
        defects={"sample-weight-shape": _WEIGHT_SHAPE},
    )
    register(
        f"{METRICS}:EditDistance",
        "edit_distance",
        aliases=["levenshtein_distance"],
        example=token_sequences,
        tags=["text", EAGER_ONLY],
        defects={
            "needs-run-eagerly": _eager("EditDistance"),
            "sample-weight-ignored": _WEIGHT_IGNORED,
        },
    )
    register(
        f"{METRICS}:Bleu",
        "bleu",
        example=translations,
        tags=["text", EAGER_ONLY],
        defects={
            "needs-run-eagerly": _eager("Bleu"),
            "sample-weight-ignored": _WEIGHT_IGNORED,
            "tokenizer-not-saved": _TOKENIZER,
        },
    )
    for cls, name in (("RougeL", "rouge_l"), ("RougeN", "rouge_n")):
        register(
            f"{METRICS}:{cls}",
            name,
            example=summaries,
            tags=["text", EAGER_ONLY, "needs-rouge-score"],
            defects={
                "dict-result-keys": _DICT_KEYS,
                "needs-run-eagerly": _eager("Rouge"),
                "sample-weight-ignored": _WEIGHT_IGNORED,
            },
        )
