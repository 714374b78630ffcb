"""Correct configurations from keras.io examples, for tests/test_preflight_correct.py.

Each case names its file in keras-team/keras-io (read with the search tools, 2026-12) and
keeps what preflight reads: the layers that end each output (type, units, activation),
the exact ``compile`` loss and metrics, and the targets' dtype, shape and values, with
the inputs shrunk to a few features and the data to a few hundred rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.preflight_cases import RNG, Case, X, dataset, mlp

N = len(X)
BIN = RNG.integers(0, 2, N)


def _k() -> Any:
    import keras

    return keras


def _ids(classes: int, dtype: str = "int64") -> Any:
    return RNG.integers(0, classes, N).astype(dtype)


def _one_hot(classes: int, dtype: str = "float32") -> Any:
    return np.eye(classes, dtype=dtype)[RNG.integers(0, classes, N)]


def _sequence(*layers: Any, inputs: tuple[int, ...] = (8,)) -> Any:
    keras = _k()
    return keras.Sequential([keras.Input(inputs), *layers])


def _weighted(y: Any, weights: Any) -> Any:
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((X, y, weights)).batch(32)


def _custom_classifier() -> Any:
    """structured_data_classification_from_scratch: the sigmoid sits inside a custom layer."""
    keras = _k()

    class Classifier(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.dense_1 = keras.layers.Dense(32, activation="relu")
            self.dense_2 = keras.layers.Dense(1, activation="sigmoid")

        def call(self, inputs: Any) -> Any:
            return self.dense_2(self.dense_1(inputs))

    return _sequence(Classifier())


def _span_heads() -> Any:
    """text_extraction_with_bert: Dense(1, use_bias=False) -> Flatten -> Activation(softmax)."""
    keras, layers = _k(), _k().layers
    inputs = keras.Input((16, 8))
    start = layers.Dense(1, name="start_logit", use_bias=False)(inputs)
    start = layers.Activation(keras.activations.softmax)(layers.Flatten()(start))
    end = layers.Dense(1, name="end_logit", use_bias=False)(inputs)
    end = layers.Activation(keras.activations.softmax)(layers.Flatten()(end))
    return keras.Model(inputs, [start, end])


def _recommender() -> Any:
    """collaborative_filtering_movielens: a subclassed model ending in tf.nn.sigmoid."""
    keras = _k()

    class RecommenderNet(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, inputs: Any) -> Any:
            return keras.ops.sigmoid(self.dense(inputs))

    return RecommenderNet()


def _io(path: str) -> str:
    return f"keras-io examples/{path}"


L = _k  # short alias for the lambdas below: L().losses, L().metrics, L().layers

KERAS_IO = [
    Case(
        "mnist_convnet: softmax over 10 + categorical_crossentropy on to_categorical labels",
        lambda: mlp(10, "softmax"),
        lambda: {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "y": _one_hot(10)},
        source=_io("vision/mnist_convnet.py"),
    ),
    Case(
        "timeseries_classification_from_scratch: softmax over 2 + sparse ids",
        lambda: mlp(2, "softmax"),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
            "y": _ids(2, "int64"),
        },
        source=_io("timeseries/timeseries_classification_from_scratch.py"),
    ),
    Case(
        "timeseries_classification_transformer: sparse_categorical_accuracy",
        lambda: mlp(2, "softmax"),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["sparse_categorical_accuracy"],
            "y": BIN,
        },
        source=_io("timeseries/timeseries_classification_transformer.py"),
    ),
    Case(
        "pointnet: softmax over 10, tf.data of integer ids",
        lambda: mlp(10, "softmax"),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["sparse_categorical_accuracy"],
            "x": dataset(_ids(10)),
        },
        source=_io("vision/pointnet.py"),
    ),
    Case(
        "image_classification_with_vision_transformer: logits over 100, uint8 ids (n, 1)",
        lambda: mlp(100),
        lambda: {
            "loss": L().losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": [
                L().metrics.SparseCategoricalAccuracy(name="accuracy"),
                L().metrics.SparseTopKCategoricalAccuracy(5, name="top-5-accuracy"),
            ],
            "y": _ids(100, "uint8").reshape(-1, 1),
        },
        source=_io("vision/image_classification_with_vision_transformer.py"),
    ),
    Case(
        "antirectifier: logits over 10 + SparseCategoricalCrossentropy(from_logits=True)",
        lambda: mlp(10),
        lambda: {
            "loss": L().losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": [L().metrics.SparseCategoricalAccuracy()],
            "y": _ids(10, "uint8"),
        },
        source=_io("keras_recipes/antirectifier.py"),
    ),
    Case(
        "imbalanced_classification: sigmoid + confusion metrics + class_weight",
        lambda: mlp(1, "sigmoid"),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": [
                L().metrics.FalseNegatives(name="fn"),
                L().metrics.FalsePositives(name="fp"),
                L().metrics.TrueNegatives(name="tn"),
                L().metrics.TruePositives(name="tp"),
                L().metrics.Precision(name="precision"),
                L().metrics.Recall(name="recall"),
            ],
            "y": BIN.astype("uint8").reshape(-1, 1),
            "class_weight": {0: 1.0 / np.sum(BIN == 0), 1: 1.0 / np.sum(BIN == 1)},
        },
        source=_io("structured_data/imbalanced_classification.py"),
    ),
    Case(
        "tfrecord (melanoma): sigmoid + metrics=AUC(name='auc') as a bare object",
        lambda: mlp(1, "sigmoid"),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": L().metrics.AUC(name="auc"),
            "x": dataset(BIN.astype("int32")),
        },
        source=_io("keras_recipes/tfrecord.py"),
    ),
    Case(
        "3D_image_classification: sigmoid + metrics=['acc'], tf.data",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "binary_crossentropy", "metrics": ["acc"], "x": dataset(BIN, batch=2)},
        source=_io("vision/3D_image_classification.py"),
    ),
    Case(
        "image_classification_from_scratch: sigmoid + accuracy, int32 labels from a dataset",
        lambda: mlp(1, "sigmoid"),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": ["accuracy"],
            "x": dataset(BIN.astype("int32")),
        },
        source=_io("vision/image_classification_from_scratch.py"),
    ),
    Case(
        "text_classification_from_scratch: Dense(1, sigmoid, name='predictions')",
        lambda: _sequence(
            L().layers.Dense(16, activation="relu"),
            L().layers.Dense(1, activation="sigmoid", name="predictions"),
        ),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": ["accuracy"],
            "x": dataset(BIN.astype("int32")),
        },
        source=_io("nlp/text_classification_from_scratch.py"),
    ),
    Case(
        "bidirectional_lstm_imdb: LSTM then sigmoid + binary_crossentropy",
        lambda: _sequence(
            L().layers.Bidirectional(L().layers.LSTM(4)),
            L().layers.Dense(1, activation="sigmoid"),
            inputs=(4, 2),
        ),
        lambda: {"loss": "binary_crossentropy", "metrics": ["accuracy"], "y": BIN},
        source=_io("nlp/bidirectional_lstm_imdb.py"),
    ),
    Case(
        "structured_data_classification_from_scratch: the sigmoid inside a custom layer",
        _custom_classifier,
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": ["accuracy"],
            "x": dataset(BIN.astype("int64")),
        },
        source=_io("structured_data/structured_data_classification_from_scratch.py"),
    ),
    Case(
        "structured_data_classification_with_feature_space: sigmoid + accuracy",
        lambda: mlp(1, "sigmoid"),
        lambda: {"loss": "binary_crossentropy", "metrics": ["accuracy"], "x": dataset(BIN)},
        source=_io("structured_data/structured_data_classification_with_feature_space.py"),
    ),
    Case(
        "classification_with_grn_and_vsn: BinaryAccuracy, (x, y, weight) batches",
        lambda: mlp(1, "sigmoid"),
        lambda: {
            "loss": L().losses.BinaryCrossentropy(),
            "metrics": [L().metrics.BinaryAccuracy(name="accuracy")],
            "x": _weighted(BIN.astype("float32"), RNG.random(N).astype("float32")),
        },
        source=_io("structured_data/classification_with_grn_and_vsn.py"),
    ),
    Case(
        "tabtransformer: Dense(1, sigmoid, name='sigmoid'), fnlwgt sample weights",
        lambda: _sequence(L().layers.Dense(1, activation="sigmoid", name="sigmoid")),
        lambda: {
            "loss": L().losses.BinaryCrossentropy(),
            "metrics": [L().metrics.BinaryAccuracy(name="accuracy")],
            "x": _weighted(BIN.astype("int64"), RNG.uniform(1e4, 1e6, N).astype("float32")),
        },
        source=_io("structured_data/tabtransformer.py"),
    ),
    Case(
        "multi_label_classification: sigmoid per term + binary_accuracy on multi-hot rows",
        lambda: mlp(12, "sigmoid"),
        lambda: {
            "loss": "binary_crossentropy",
            "metrics": ["binary_accuracy"],
            "x": dataset((RNG.random((N, 12)) < 0.2).astype("float32")),
        },
        source=_io("nlp/multi_label_classification.py"),
    ),
    Case(
        "oxford_pets_image_segmentation: per-pixel Conv2D(3, softmax), uint8 masks (n, h, w, 1)",
        lambda: _sequence(
            L().layers.Conv2D(4, 3, activation="relu", padding="same"),
            L().layers.Conv2D(3, 3, activation="softmax", padding="same"),
            inputs=(8, 8, 3),
        ),
        lambda: {
            "loss": "sparse_categorical_crossentropy",
            "y": RNG.integers(0, 3, (N, 8, 8, 1)).astype("uint8"),
        },
        source=_io("vision/oxford_pets_image_segmentation.py"),
    ),
    Case(
        "wide_deep_cross_networks: softmax over 7, Cover_Type - 1",
        lambda: mlp(7, "softmax"),
        lambda: {
            "loss": L().losses.SparseCategoricalCrossentropy(),
            "metrics": [L().metrics.SparseCategoricalAccuracy()],
            "x": dataset(_ids(7)),
        },
        source=_io("structured_data/wide_deep_cross_networks.py"),
    ),
    Case(
        "pretrained_word_embeddings: softmax over 20 + metrics=['acc']",
        lambda: mlp(20, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "metrics": ["acc"], "y": _ids(20)},
        source=_io("nlp/pretrained_word_embeddings.py"),
    ),
    Case(
        "text_classification_with_transformer: a binary task as a softmax over 2",
        lambda: mlp(2, "softmax"),
        lambda: {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "y": BIN},
        source=_io("nlp/text_classification_with_transformer.py"),
    ),
    Case(
        "addition_rnn: softmax over 12 characters per step, one-hot bool (n, 4, 12)",
        lambda: _sequence(
            L().layers.LSTM(8, return_sequences=True),
            L().layers.Dense(12, activation="softmax"),
            inputs=(4, 3),
        ),
        lambda: {
            "loss": "categorical_crossentropy",
            "metrics": ["accuracy"],
            "y": np.eye(12, dtype=bool)[RNG.integers(0, 12, (N, 4))],
        },
        source=_io("nlp/addition_rnn.py"),
    ),
    Case(
        "semantic_similarity_with_bert: softmax over 3, int32 one-hot rows",
        lambda: mlp(3, "softmax"),
        lambda: {"loss": "categorical_crossentropy", "metrics": ["acc"], "y": _one_hot(3, "int32")},
        source=_io("nlp/semantic_similarity_with_bert.py"),
    ),
    Case(
        "image_classification_efficientnet_fine_tuning: Dense(120, softmax, name='pred')",
        lambda: _sequence(L().layers.Dense(120, activation="softmax", name="pred")),
        lambda: {
            "loss": "categorical_crossentropy",
            "metrics": ["accuracy"],
            "y": _one_hot(120),
        },
        source=_io("vision/image_classification_efficientnet_fine_tuning.py"),
    ),
    Case(
        "text_extraction_with_bert: two softmax heads after Flatten, a list of losses",
        _span_heads,
        lambda: {
            "loss": [L().losses.SparseCategoricalCrossentropy(from_logits=False)] * 2,
            "y": [_ids(16), _ids(16)],
        },
        source=_io("nlp/text_extraction_with_bert.py"),
    ),
    Case(
        "timeseries_weather_forecasting: LSTM(32) -> Dense(1), mse on z-scores, tf.data",
        lambda: _sequence(L().layers.LSTM(8), L().layers.Dense(1), inputs=(6, 8)),
        lambda: {"loss": "mse", "y": RNG.normal(size=(N, 1)).astype("float32")},
        source=_io("timeseries/timeseries_weather_forecasting.py"),
    ),
    Case(
        "timeseries_traffic_forecasting: Dense then Reshape to (3, 26), MeanSquaredError",
        lambda: _sequence(L().layers.Dense(78), L().layers.Reshape((3, 26))),
        lambda: {
            "loss": L().losses.MeanSquaredError(),
            "y": RNG.normal(size=(N, 3, 26)).astype("float32"),
        },
        source=_io("timeseries/timeseries_traffic_forecasting.py"),
    ),
    Case(
        "timeseries_anomaly_detection: linear Conv1DTranspose autoencoder, mse, y = x",
        lambda: _sequence(
            L().layers.Conv1D(4, 7, padding="same", strides=2, activation="relu"),
            L().layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same", strides=2),
            inputs=(16, 1),
        ),
        lambda: {"loss": "mse", "y": RNG.normal(size=(N, 16, 1)).astype("float32")},
        source=_io("timeseries/timeseries_anomaly_detection.py"),
    ),
    Case(
        "bayesian_neural_networks (baseline): Dense(1), MeanSquaredError, RMSE, scores 3-9",
        lambda: mlp(1),
        lambda: {
            "loss": L().losses.MeanSquaredError(),
            "metrics": [L().metrics.RootMeanSquaredError()],
            "x": dataset(RNG.integers(3, 10, N).astype("float32")),
        },
        source=_io("keras_recipes/bayesian_neural_networks.py"),
    ),
    Case(
        "collaborative_filtering_movielens: a subclassed model, soft targets in [0, 1]",
        _recommender,
        lambda: {"loss": L().losses.BinaryCrossentropy(), "y": RNG.random(N).astype("float32")},
        source=_io("structured_data/collaborative_filtering_movielens.py"),
    ),
]
"""30 configurations from 30 keras.io example files."""
