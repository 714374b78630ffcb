"""``kreg train``: train an exported run with ``tf.distribute``, resumably.

One process per worker: the strategy (``MirroredStrategy`` over the local GPUs
or logical CPUs, ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``; see
:func:`kreg.training.placement.place`) is made before anything else touches
TensorFlow, the export's model is loaded and compiled in its scope, and
``model.fit`` runs with a global batch size (Keras splits each batch across
replicas). With ``--checkpoint-dir`` the model and optimizer are saved through
``tf.train.CheckpointManager`` at every epoch end (the chief into the directory,
other workers into scratch folders, as TensorFlow requires), and a restarted run
resumes from the last saved epoch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kreg.errors import DistributedSetupError, PreflightError
from kreg.training.cluster import EpochCheckpoint, patch_keras_for_multiworker, use_cpu_devices
from kreg.training.placement import Role, place
from kreg.training.precision import add_loss_scaling
from kreg.training.speed import choose_steps_per_execution

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.training.exported import Export


def load_loader(reference: str) -> dict[str, Any]:
    """Call a ``module:function`` data loader; it returns ``(x, y)``, a dict or a dataset.

    Example:
        >>> load_loader("json:nothing")
        Traceback (most recent call last):
        ...
        kreg.errors.DistributedSetupError: data loader 'json:nothing' ...
    """
    import importlib

    module_name, _, function_name = reference.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        value = function()
    except (ImportError, AttributeError) as error:
        raise DistributedSetupError(
            f"data loader {reference!r} cannot be loaded ({type(error).__name__}: {error}); "
            "give module:function where the function returns (x, y), a dict or a dataset"
        ) from None
    if isinstance(value, dict):
        return value
    if isinstance(value, tuple):
        return dict(zip(("x", "y", "sample_weight"), value))
    return {"x": value}


def find_data(data: str | None, export: Export) -> dict[str, Any]:
    """fit() data: ``--data`` (.npz, tf.data folder or module:function) or the export's own."""
    from kreg.training.exported import load_data

    if data is None:
        loader = (export.document.get("data") or {}).get("loader")
        if loader:
            return load_loader(loader)
        found = export.data()
        if found is None:
            raise DistributedSetupError(
                f"{export.folder} was exported without data: give --data PATH.npz (arrays x, "
                "y), a tf.data save folder, or module:function"
            )
        return found
    if ":" in data and not Path(data).exists() and not data[1:3] == ":\\":
        return load_loader(data)
    return load_data(data)


def refuse_other_backends() -> None:
    """Raise unless Keras runs on TensorFlow: ``kreg train`` is ``tf.distribute``.

    Raises:
        DistributedSetupError: the backend is JAX or PyTorch (the message says what to use).

    Example:
        >>> refuse_other_backends()  # TensorFlow here
    """
    from kreg.kerasext.backend import backend_name

    backend = backend_name()
    if backend == "tensorflow":
        return
    raise DistributedSetupError(
        f"kreg train runs exports with TensorFlow's tf.distribute, and Keras runs on {backend} "
        f"here (KERAS_BACKEND={backend}). Run it with KERAS_BACKEND=tensorflow (the export is "
        "a .keras file, which every backend reads); or train on this backend from a notebook "
        "with %%kcompile, which uses "
        + (
            "keras.distribution.DataParallel over the local devices"
            if backend == "jax"
            else "one device (for several, write a torch.distributed loop)"
        )
    )


def train_export(
    path: str | Path,
    data: str | None = None,
    strategy: str = "auto",
    epochs: int | None = None,
    batch_size: int | None = None,
    checkpoint_dir: str | Path | None = None,
    output: str | Path | None = None,
    cpu_devices: int | None = None,
    steps_per_execution: int | None = None,
    seed: int = 0,
    verbose: int = 2,
    log: Callable[[str], None] = print,
    preflight: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """Train the export at ``path``; return a summary (strategy, epochs, history, wall time).

    The chief writes the trained model (``model.keras``) and ``history.json``
    into ``output`` (default ``PATH/trained``). Every worker must call this with
    the same arguments (and its own ``TF_CONFIG``). Preflight's findings are logged
    first, and its errors stop it (:class:`~kreg.errors.PreflightError`) unless ``force``.

    Example (doctest skipped: it trains):
        >>> train_export("exports/mlp", epochs=2)["epochs_completed"]  # doctest: +SKIP
        2
    """
    from kreg.training.exported import load_export

    refuse_other_backends()
    role = Role.from_environment()
    export = load_export(path)  # cheap, and says early when PATH is wrong
    if cpu_devices:
        use_cpu_devices(cpu_devices)
    placement = place(strategy, role=role)
    distribution = placement.strategy
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    log(f"kreg train: {placement.describe()}")
    export.check_plugins()
    fit_arguments = {**export.fit_settings, **find_data(data, export)}
    if epochs is not None:
        fit_arguments["epochs"] = epochs
    if batch_size is not None:
        fit_arguments["batch_size"] = batch_size
    wanted = steps_per_execution or int(export.document["steps_per_execution"])
    spe, _ = choose_steps_per_execution(wanted, None, fit_arguments, placement)
    with distribution.scope():
        model = export.load_model()
        compile_args = export.compile_args()
        if preflight:
            _preflight(model, compile_args, fit_arguments, force, log)
        add_loss_scaling(compile_args, export.document.get("precision"))
        model.compile(**compile_args, steps_per_execution=spe)
        model.optimizer.build(model.trainable_variables)
    if isinstance(distribution, tf.distribute.MultiWorkerMirroredStrategy):
        patch_keras_for_multiworker(model, fit_arguments)
    callbacks = []
    checkpoint = None
    initial_epoch = int(fit_arguments.pop("initial_epoch", 0))
    if checkpoint_dir is not None:
        checkpoint = EpochCheckpoint(checkpoint_dir, model, role)
        restored = checkpoint.restore()
        if restored:
            log(f"kreg train: resumed from the checkpoint of epoch {restored} in {checkpoint_dir}")
            initial_epoch = max(initial_epoch, restored)
        callbacks.append(checkpoint.callback())
    total = int(fit_arguments.get("epochs", 1))
    started = time.perf_counter()
    history: dict[str, list[float]] = {}
    if initial_epoch < total:
        try:
            result = model.fit(
                **fit_arguments, initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose
            )
        except (tf.errors.UnavailableError, tf.errors.AbortedError) as error:
            if role.workers < 2:
                raise
            saved = f" from epoch {checkpoint.restore()}" if checkpoint is not None else ""
            raise DistributedSetupError(
                f"another worker stopped ({type(error).__name__}: {_reason(error)}). "
                "Restart every worker with the "
                f"same command: training resumes{saved} "
                + (
                    f"(the last checkpoint in {checkpoint_dir})"
                    if checkpoint is not None
                    else "from the start (give --checkpoint-dir to resume instead)"
                )
            ) from None
        history = {k: [float(v) for v in values] for k, values in result.history.items()}
    else:
        log(f"kreg train: all {total} epochs are already done (checkpoint); nothing to train")
    wall = time.perf_counter() - started
    if checkpoint is not None:
        checkpoint.clean_up()
    summary = {
        "strategy": placement.describe(),
        "replicas": distribution.num_replicas_in_sync,
        "worker": f"{role.task_type} {role.task_id}",
        "initial_epoch": initial_epoch,
        "epochs_completed": total,
        "history": history,
        "wall_seconds": round(wall, 3),
        "output": None,
    }
    if role.is_chief:
        folder = Path(output) if output is not None else Path(path) / "trained"
        folder.mkdir(parents=True, exist_ok=True)
        model.save(folder / "model.keras")
        (folder / "history.json").write_text(json.dumps(summary, indent=2) + "\n")
        summary["output"] = str(folder)
    final = ", ".join(f"{k} {v[-1]:.6g}" for k, v in history.items() if v)
    log(
        f"kreg train: {role.task_type} {role.task_id} finished epochs {initial_epoch + 1}-{total} "
        f"in {wall:.2f} s: {final or 'nothing trained'}"
    )
    return summary


def _preflight(
    model: Any,
    compile_args: dict[str, Any],
    fit_arguments: dict[str, Any],
    force: bool,
    log: Callable[[str], None],
) -> None:
    """Log preflight's findings; raise on errors unless ``force`` (``kreg train --force``)."""
    from kreg.preflight_checks import preflight as check

    findings = check(
        model,
        loss=compile_args.get("loss"),
        metrics=compile_args.get("metrics"),
        x=fit_arguments.get("x"),
        y=fit_arguments.get("y"),
        class_weight=fit_arguments.get("class_weight"),
        validation_data=fit_arguments.get("validation_data"),
    )
    for finding in findings:
        if finding.severity != "info":
            log(f"kreg train: preflight {finding}")
    if findings.errors and not force:
        listed = "\n".join(str(finding) for finding in findings.errors)
        raise PreflightError(
            f"preflight stopped kreg train before training:\n{listed}\n"
            "Fix the export, or train anyway with --force (--no-preflight skips the checks).",
            findings,
        )


def _reason(error: Exception) -> str:
    """The informative line of a TensorFlow collective error (which peer, what happened)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "unhealthy" in line or "Error reported from" in line:
            return line[:300]
    return (lines[0] if lines else type(error).__name__)[:300]
