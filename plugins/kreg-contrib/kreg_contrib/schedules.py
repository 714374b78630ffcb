"""Learning-rate schedules: linear warm-up then cosine decay, and the one-cycle policy."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kreg_contrib")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to a peak, then cosine decay to ``alpha * peak``, then constant.

    For step t, with W = ``warmup_steps`` and D = ``decay_steps``::

        t < W:       lr = initial + (peak − initial) · t / W
        W ≤ t < W+D: lr = peak · (alpha + (1 − alpha) · ½(1 + cos(π (t − W) / D)))
        t ≥ W+D:     lr = alpha · peak

    Reference: P. Goyal et al., "Accurate, Large Minibatch SGD: Training
    ImageNet in 1 Hour", arXiv:1706.02677 (warm-up); I. Loshchilov and
    F. Hutter, "SGDR", ICLR 2017, arXiv:1608.03983 (cosine decay).

    Example:
        >>> schedule = WarmupCosine(peak_learning_rate=0.1, warmup_steps=10, decay_steps=90)
        >>> [round(float(schedule(step)), 4) for step in (0, 5, 10, 55, 100)]
        [0.0, 0.05, 0.1, 0.05, 0.0]
    """

    def __init__(
        self,
        peak_learning_rate: float,
        warmup_steps: int,
        decay_steps: int,
        initial_learning_rate: float = 0.0,
        alpha: float = 0.0,
        name: str = "warmup_cosine",
    ) -> None:
        if warmup_steps < 0 or decay_steps <= 0:
            raise ValueError(
                "warmup_steps must be >= 0 and decay_steps > 0. Received: "
                f"warmup_steps={warmup_steps}, decay_steps={decay_steps}"
            )
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.decay_steps = decay_steps
        self.initial_learning_rate = initial_learning_rate
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step`` (an integer or integer tensor)."""
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        warmup = float(max(self.warmup_steps, 1))
        rising = self.initial_learning_rate + (peak - self.initial_learning_rate) * step / warmup
        progress = ops.clip((step - self.warmup_steps) / self.decay_steps, 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        decaying = peak * (self.alpha + (1.0 - self.alpha) * cosine)
        return ops.where(step < self.warmup_steps, rising, decaying)

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument."""
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "alpha": self.alpha,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="kreg_contrib")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The one-cycle policy: cosine rise to ``max_learning_rate``, then cosine fall far below.

    With T = ``total_steps`` and P = ``pct_start`` · T, starting at
    ``max / div_factor`` and ending at ``max / (div_factor · final_div_factor)``::

        t < P:  lr = cosine interpolation from start to max over [0, P]
        t ≥ P:  lr = cosine interpolation from max to end over [P, T]; constant after T

    (the default annealing of PyTorch's ``OneCycleLR``, without its momentum cycle).

    Reference: L. N. Smith and N. Topin, "Super-Convergence: Very Fast Training
    of Neural Networks Using Large Learning Rates", arXiv:1708.07120, 2017.

    Example:
        >>> schedule = OneCycle(max_learning_rate=0.1, total_steps=100)
        >>> [round(float(schedule(step)), 5) for step in (0, 30, 100)]
        [0.004, 0.1, 0.0]
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        name: str = "one_cycle",
    ) -> None:
        if total_steps <= 0 or not 0.0 < pct_start < 1.0:
            raise ValueError(
                "total_steps must be > 0 and 0 < pct_start < 1. Received: "
                f"total_steps={total_steps}, pct_start={pct_start}"
            )
        self.max_learning_rate = max_learning_rate
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.name = name

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step`` (an integer or integer tensor)."""
        step = ops.cast(step, "float32")
        peak = float(self.max_learning_rate)
        start = peak / self.div_factor
        end = start / self.final_div_factor
        rise_steps = max(self.pct_start * self.total_steps, 1.0)
        fall_steps = max(self.total_steps - rise_steps, 1.0)

        def cosine(begin: float, finish: float, fraction: Any) -> Any:
            fraction = ops.clip(fraction, 0.0, 1.0)
            return finish + (begin - finish) * 0.5 * (1.0 + ops.cos(math.pi * fraction))

        rising = cosine(start, peak, step / rise_steps)
        falling = cosine(peak, end, (step - rise_steps) / fall_steps)
        return ops.where(step < rise_steps, rising, falling)

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument."""
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "name": self.name,
        }
