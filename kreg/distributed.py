"""``kreg train``: train an exported run with ``tf.distribute``, resumably.

One process per worker: the strategy (``MirroredStrategy`` over the local GPUs
or logical CPUs, ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``) is made
before anything else touches TensorFlow, the export's model is loaded and
compiled in its scope, and ``model.fit`` runs with a global batch size (Keras
splits each batch across replicas). With ``--checkpoint-dir`` the model and
optimizer are saved through ``tf.train.CheckpointManager`` at every epoch end
(the chief into the directory, other workers into scratch folders, as
TensorFlow requires), and a restarted run resumes from the last saved epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kreg.errors import KregError

STRATEGY_CHOICES = ("auto", "default", "mirrored", "multiworker", "parameter-server")


class DistributedSetupError(KregError):
    """The cluster, devices or strategy asked for cannot be set up (what, why, the fix)."""


@dataclass(frozen=True)
class Role:
    """This process's place in the cluster (from ``TF_CONFIG``): task type and index.

    Example:
        >>> Role.from_environment({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, '
        ...     '"task": {"type": "worker", "index": 1}}'})
        Role(task_type='worker', task_id=1, workers=2)
        >>> Role.from_environment({}).is_chief
        True
    """

    task_type: str = "worker"
    task_id: int = 0
    workers: int = 1

    @property
    def is_chief(self) -> bool:
        """The chief writes checkpoints and outputs: task ``chief``, or worker 0 without one."""
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_id == 0)

    @classmethod
    def from_environment(cls, environ: Any = None) -> Role:
        """Read ``TF_CONFIG`` from ``environ`` (default ``os.environ``)."""
        raw = (os.environ if environ is None else environ).get("TF_CONFIG")
        if not raw:
            return cls()
        try:
            config = json.loads(raw)
            cluster = config.get("cluster", {})
            task = config.get("task", {})
            workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
            return cls(str(task.get("type", "worker")), int(task.get("index", 0)), workers)
        except (ValueError, TypeError, AttributeError) as error:
            raise DistributedSetupError(
                f"TF_CONFIG is not valid ({error}); it must be JSON like "
                '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                '"task": {"type": "worker", "index": 0}}'
            ) from None


def use_cpu_devices(count: int) -> None:
    """Split the CPU into ``count`` logical devices (before TensorFlow starts its runtime).

    Lets ``MirroredStrategy`` run with several replicas on a machine without
    GPUs (tests, rehearsals). Example: ``use_cpu_devices(2)`` then
    ``make_strategy("mirrored")`` has two replicas.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as error:
        raise DistributedSetupError(
            f"cannot split the CPU into {count} devices: TensorFlow has already started ({error})"
        ) from None


def make_strategy(name: str, role: Role | None = None) -> tuple[Any, str]:
    """The ``tf.distribute`` strategy called ``name`` and a one-line description of it.

    ``auto``: several workers in ``TF_CONFIG`` -> multiworker; several GPUs ->
    mirrored; one GPU -> that GPU; several logical CPUs -> mirrored over them;
    else the default strategy.

    Example:
        >>> make_strategy("parameter-server")
        Traceback (most recent call last):
        ...
        kreg.distributed.DistributedSetupError: --strategy parameter-server: ...
    """
    role = role or Role.from_environment()
    if name not in STRATEGY_CHOICES:
        raise DistributedSetupError(
            f"--strategy must be one of {', '.join(STRATEGY_CHOICES)}. Received: {name!r}"
        )
    if name == "parameter-server":
        raise DistributedSetupError(
            "--strategy parameter-server: Keras 3's model.fit does not support TensorFlow's "
            "ParameterServerStrategy (only Keras 2 did); use --strategy multiworker (synchronous "
            "data parallelism over all workers' devices) instead"
        )
    import tensorflow as tf

    if name == "auto":
        gpus = tf.config.list_physical_devices("GPU")
        if role.workers > 1:
            name = "multiworker"
        elif len(gpus) > 1 or len(tf.config.list_logical_devices("CPU")) > 1:
            name = "mirrored"
        elif gpus:
            return tf.distribute.OneDeviceStrategy("/gpu:0"), "one GPU (OneDeviceStrategy)"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy(), "default strategy (one device)"
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
        strategy = tf.distribute.MirroredStrategy(devices)
        return strategy, f"MirroredStrategy over {len(devices)} device(s): {', '.join(devices)}"
    if role.workers < 1 or "TF_CONFIG" not in os.environ:
        raise DistributedSetupError(
            "--strategy multiworker needs TF_CONFIG on every worker, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}} (index differs per worker)'
        )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return strategy, (
        f"MultiWorkerMirroredStrategy: {role.workers} workers, this is {role.task_type} "
        f"{role.task_id}, {strategy.num_replicas_in_sync} replicas in sync"
    )


def patch_keras_for_multiworker(model: Any, sample: tuple[Any, ...]) -> None:
    """Work around Keras 3's two ``model.fit`` failures under ``MultiWorkerMirroredStrategy``.

    keras-team/keras#20585 (open): ``fit`` first builds the model from a batch
    it tries to average across workers eagerly (``ValueError: Attempt to convert
    a value (PerReplica...)``), then averages each step's scalar metrics with
    ``axis=0`` (``Invalid reduction dimension 0``). kreg builds the model from a
    local sample batch itself and averages the step results over replicas
    without an axis. Only ``kreg train`` processes under that strategy are
    patched; the results equal one worker's (tests/test_distributed.py).
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as keras_trainer

    strategy = model.distribute_strategy
    with strategy.scope():
        model._symbolic_build(data_batch=sample)
    model._maybe_symbolic_build = lambda *arguments, **keywords: None
    original = keras_trainer.reduce_per_replica
    if getattr(original, "__kreg_patch__", False):
        return

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and keras_trainer._collective_all_reduce_multi_worker(
            strategy
        ):
            return tf.nest.map_structure(
                lambda value: strategy.reduce("MEAN", value, axis=None), values
            )
        return original(values, strategy, reduction)

    reduce_per_replica.__kreg_patch__ = True  # type: ignore[attr-defined]
    keras_trainer.reduce_per_replica = reduce_per_replica


def _sample_batch(fit_arguments: dict[str, Any]) -> tuple[Any, ...]:
    import tensorflow as tf

    x = fit_arguments["x"]
    if isinstance(x, tf.data.Dataset):
        return next(iter(x.take(1)))
    first = [tf.nest.map_structure(lambda a: a[:2], fit_arguments["x"])]
    if fit_arguments.get("y") is not None:
        first.append(tf.nest.map_structure(lambda a: a[:2], fit_arguments["y"]))
    return tuple(first)


def _reason(error: Exception) -> str:
    """The informative line of a TensorFlow collective error (which peer, what happened)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "unhealthy" in line or "Error reported from" in line:
            return line[:300]
    return (lines[0] if lines else type(error).__name__)[:300]


class EpochCheckpoint:
    """Model + optimizer + epoch saved through ``tf.train.CheckpointManager`` at each epoch end.

    The chief writes into ``directory``; other workers write into scratch
    folders beside it (TensorFlow needs every worker to save) that are removed
    at the end. :meth:`restore` loads the latest chief checkpoint and returns
    the number of epochs it holds (0 when none).
    """

    def __init__(self, directory: str | Path, model: Any, role: Role) -> None:
        import tensorflow as tf

        self.directory = Path(directory)
        self.role = role
        self.epoch = tf.Variable(0, dtype="int64", trainable=False, name="kreg_epoch")
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch=self.epoch
        )
        write_to = self.directory
        if not role.is_chief:
            write_to = self.directory / f".scratch-{role.task_type}-{role.task_id}"
        self.write_to = write_to
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(write_to), max_to_keep=2)

    def restore(self) -> int:
        """Load the latest checkpoint the chief wrote; return its epoch count (0 if none)."""
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(str(self.directory))
        if latest is None:
            return 0
        self.checkpoint.restore(latest).expect_partial()
        return int(self.epoch.numpy())

    def callback(self) -> Any:
        """A Keras callback saving at every epoch end."""
        import keras

        owner = self

        class SaveEachEpoch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                owner.epoch.assign(epoch + 1)
                owner.manager.save(checkpoint_number=epoch + 1)

        return SaveEachEpoch()

    def clean_up(self) -> None:
        """Remove a non-chief worker's scratch checkpoints."""
        if not self.role.is_chief:
            shutil.rmtree(self.write_to, ignore_errors=True)


def load_loader(reference: str) -> dict[str, Any]:
    """Call a ``module:function`` data loader; it returns ``(x, y)``, a dict or a dataset.

    Example:
        >>> load_loader("json:nothing")
        Traceback (most recent call last):
        ...
        kreg.distributed.DistributedSetupError: data loader 'json:nothing' ...
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


def find_data(data: str | None, export: Any) -> dict[str, Any]:
    """fit() data: ``--data`` (.npz, tf.data folder or module:function) or the export's own."""
    from kreg.export import load_data

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
) -> dict[str, Any]:
    """Train the export at ``path``; return a summary (strategy, epochs, history, wall time).

    The chief writes the trained model (``model.keras``) and ``history.json``
    into ``output`` (default ``PATH/trained``). Every worker must call this with
    the same arguments (and its own ``TF_CONFIG``).

    Example (doctest skipped: it trains):
        >>> train_export("exports/mlp", epochs=2)["epochs_completed"]  # doctest: +SKIP
        2
    """
    from kreg.export import load_export

    role = Role.from_environment()
    export = load_export(path)  # cheap, and says early when PATH is wrong
    if cpu_devices:
        use_cpu_devices(cpu_devices)
    distribution, description = make_strategy(strategy, role)
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    log(f"kreg train: {description}")
    export.check_plugins()
    fit_arguments = {**export.fit_settings, **find_data(data, export)}
    if epochs is not None:
        fit_arguments["epochs"] = epochs
    if batch_size is not None:
        fit_arguments["batch_size"] = batch_size
    distributed = distribution is not tf.distribute.get_strategy() and not isinstance(
        distribution, tf.distribute.OneDeviceStrategy
    )
    if steps_per_execution is None:
        # Keras 3.15's multi-step loop fails under Mirrored strategies (see kreg.train).
        steps_per_execution = 1 if distributed else int(export.document["steps_per_execution"])
    with distribution.scope():
        model = export.load_model()
        compile_args = export.compile_args()
        if export.document.get("precision") == "mixed_float16":
            compile_args["optimizer"] = keras.optimizers.LossScaleOptimizer(
                compile_args["optimizer"]
            )
        model.compile(**compile_args, steps_per_execution=steps_per_execution)
        model.optimizer.build(model.trainable_variables)
    if isinstance(distribution, tf.distribute.MultiWorkerMirroredStrategy):
        patch_keras_for_multiworker(model, _sample_batch(fit_arguments))
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
        "strategy": description,
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
