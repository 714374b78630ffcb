"""The kreg hooks of kreg-keras-proba (entry point ``kreg = keras_proba``): a bridge to keras-proba.

keras-proba (uncertainty awareness for Keras 3) ships no kreg entry point, so this
package registers its public losses and metrics. Targets are lazy ``"module:Class"``
strings: ``kreg list`` shows them without importing keras-proba or TensorFlow.

The losses take the output of keras-proba's regression heads as ``y_pred``
(``GaussianHead``: mean and scale; ``MixtureGaussianHead``: logits, means, scales);
the metrics take integer labels and class probabilities. The examples are such data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kreg import hookimpl


def gaussian_head_output() -> dict[str, Any]:
    """Targets ``(4, 1)`` and a ``GaussianHead(1)`` output ``(4, 2)``: mean, then scale > 0."""
    import numpy as np

    y_true = np.array([[0.5], [-1.0], [2.0], [0.1]], "float32")
    mean = np.array([[0.3], [-0.6], [1.2], [0.4]], "float32")
    scale = np.array([[0.8], [1.1], [0.5], [1.5]], "float32")
    return {"y_true": y_true, "y_pred": np.concatenate([mean, scale], axis=-1)}


def mixture_head_output() -> dict[str, Any]:
    """Targets ``(4, 1)`` and a ``MixtureGaussianHead(3)`` output ``(4, 9)``.

    Three components: logits, then means, then scales (> 0), one value each.
    """
    import numpy as np

    y_true = np.array([[0.5], [-1.0], [2.0], [0.1]], "float32")
    logits = np.array([[0.2, -0.1, 0.5], [1.0, 0.0, -1.0], [0.0, 0.3, 0.1], [-0.5, 0.5, 0.0]])
    means = np.array([[0.0, 1.0, -1.0], [-0.8, 0.4, 1.5], [1.8, -0.2, 0.6], [0.3, -0.4, 0.9]])
    scales = np.array([[0.7, 1.2, 0.9], [0.5, 1.0, 2.0], [0.6, 0.8, 1.1], [1.3, 0.4, 0.9]])
    y_pred = np.concatenate([logits, means, scales], axis=-1).astype("float32")
    return {"y_true": y_true, "y_pred": y_pred}


def class_probabilities() -> dict[str, Any]:
    """Integer labels ``(4,)`` and class probabilities ``(4, 3)``, two of four argmaxes right."""
    import numpy as np

    y_true = np.array([0, 2, 1, 2], "int32")
    y_pred = np.array(
        [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.15, 0.55, 0.3], [0.4, 0.25, 0.35]], "float32"
    )
    return {"y_true": y_true, "y_pred": y_pred}


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    """Gaussian and mixture-of-Gaussians negative log-likelihoods."""
    register(
        "keras_proba.losses:GaussianNLL",
        "gaussian_nll",
        aliases=["gaussian_nll_loss", "gaussian_negative_log_likelihood"],
        example=gaussian_head_output,
        tags=["probabilistic", "regression"],
        expects={"y_true": "real", "y_pred": "any", "task": "regression"},
    )
    register(
        "keras_proba.losses:MixtureGaussianNLL",
        "mixture_gaussian_nll",
        aliases=["mixture_gaussian_nll_loss", "mdn_nll"],
        example=mixture_head_output,
        tags=["probabilistic", "regression"],
        expects={"y_true": "real", "y_pred": "any", "task": "regression"},
    )


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    """Expected calibration error and the Brier score."""
    register(
        "keras_proba.metrics:ExpectedCalibrationError",
        "expected_calibration_error",
        aliases=["ece"],
        example=class_probabilities,
        tags=["calibration", "classification"],
        expects={"y_true": "any", "y_pred": "probabilities", "task": "classification"},
    )
    register(
        "keras_proba.metrics:BrierScore",
        "brier_score",
        aliases=["brier"],
        example=class_probabilities,
        tags=["calibration", "classification"],
        expects={"y_true": "any", "y_pred": "probabilities", "task": "classification"},
    )
