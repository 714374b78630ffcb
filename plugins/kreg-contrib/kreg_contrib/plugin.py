"""The kreg hooks of kreg-contrib (entry point ``kreg = contrib``).

Targets are ``"module:Class"`` strings, so ``kreg list`` shows them without
importing Keras. Each registration carries an ``example`` with data that suits
the component, used by ``kreg check`` and ``kreg.testing``, and losses and metrics
declare the data they take (``expects``), used by ``kreg.preflight``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kreg import hookimpl


def _masks() -> Any:
    from kreg.contracts.examples import segmentation

    return segmentation()


def _regression() -> Any:
    from kreg.contracts.examples import regression

    return regression()


def _binary() -> Any:
    from kreg.contracts.examples import probability

    return probability()


def _classes() -> dict[str, Any]:
    from kreg.contracts.examples import sparse

    y_true, y_pred = sparse()
    return {"y_true": y_true, "y_pred": y_pred, "config": {"num_classes": 3}}


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    """Focal Tversky and quantile (pinball) losses."""
    register(
        "kreg_contrib.losses:FocalTversky",
        "focal_tversky",
        aliases=["focal_tversky_loss"],
        example=_masks,
        tags=["segmentation"],
        expects={"y_true": "binary", "y_pred": "probabilities"},
    )
    register(
        "kreg_contrib.losses:Quantile",
        "quantile",
        aliases=["pinball", "quantile_loss", "pinball_loss"],
        example=_regression,
        tags=["regression"],
        expects={"y_true": "real", "y_pred": "real", "task": "regression"},
    )


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    """Matthews correlation coefficient and Cohen's kappa."""
    register(
        "kreg_contrib.metrics:MatthewsCorrelation",
        "matthews_correlation",
        aliases=["mcc", "matthews_correlation_coefficient"],
        example=_binary,
        tags=["classification"],
        expects={"y_true": "binary", "y_pred": "any", "task": "classification"},
    )
    register(
        "kreg_contrib.metrics:CohenKappa",
        "cohen_kappa",
        aliases=["kappa"],
        example=_classes,
        tags=["classification"],
        expects={"y_true": "any", "y_pred": "any", "task": "classification"},
    )


@hookimpl
def register_optimizers(register: Callable[..., None]) -> None:
    """Lookahead around any optimizer of the registry."""
    register("kreg_contrib.optimizers:Lookahead", "lookahead")


@hookimpl
def register_schedules(register: Callable[..., None]) -> None:
    """Linear warm-up then cosine decay, and the one-cycle policy."""
    register(
        "kreg_contrib.schedules:WarmupCosine",
        "warmup_cosine",
        aliases=["warmup_cosine_decay"],
        example=lambda: {
            "config": {"peak_learning_rate": 0.1, "warmup_steps": 10, "decay_steps": 90}
        },
    )
    register(
        "kreg_contrib.schedules:OneCycle",
        "one_cycle",
        aliases=["onecycle", "one_cycle_lr"],
        example=lambda: {"config": {"max_learning_rate": 0.1, "total_steps": 100}},
    )
