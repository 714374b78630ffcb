"""How a run executes: the options shared by ``%%kcompile``, the widget and ``kreg train``."""

from __future__ import annotations

from dataclasses import dataclass

from kreg.errors import TrainingSetupError

STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu", "parameter-server")
"""Every ``--strategy`` value (``parameter-server`` is refused with the reason and the fix)."""


@dataclass(frozen=True)
class RunOptions:
    """The settings that shape a run (``%%kcompile``'s flags, the widget's choices).

    Attributes:
        strategy: one of :data:`STRATEGIES` (see :func:`~kreg.training.placement.place`).
        mixed_precision: ``mixed_float16`` on a GPU, ``mixed_bfloat16`` elsewhere.
        jit: compile with XLA (True), never (False), or Keras's ``"auto"`` (None).
        steps_per_execution: a whole number, or ``"auto"`` (see :mod:`kreg.training.speed`).
        verbose: Keras's ``fit`` verbosity, 0, 1 or 2.
        export: a folder to write the run to for ``kreg train`` (checked before training).
        preflight: check the model, data and components together first (:func:`kreg.preflight`).
        force: train even when preflight found errors.

    Raises:
        TrainingSetupError: a value out of range (the message names the flag).

    Example:
        >>> RunOptions(strategy="mirrored", jit=True).jit
        True
        >>> RunOptions(strategy="gpu")
        Traceback (most recent call last):
        ...
        kreg.errors.TrainingSetupError: --strategy must be one of auto, default, ...
    """

    strategy: str = "auto"
    mixed_precision: bool = False
    jit: bool | None = None
    steps_per_execution: int | str = "auto"
    verbose: int = 0
    export: str | None = None
    preflight: bool = True
    force: bool = False

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise TrainingSetupError(
                f"--strategy must be one of {', '.join(STRATEGIES)}. Received: {self.strategy!r}"
            )
        spe = self.steps_per_execution
        if spe != "auto" and not (type(spe) is int and spe >= 1):
            raise TrainingSetupError(
                f"--steps-per-execution must be auto or a whole number >= 1. Received: {spe!r}"
            )
        if self.verbose not in (0, 1, 2):
            raise TrainingSetupError(f"--verbose must be 0, 1 or 2. Received: {self.verbose!r}")
