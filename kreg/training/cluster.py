"""What ``kreg train`` adds to ``tf.distribute``: logical CPU devices, per-epoch checkpoints
that a restarted job resumes from, and the workaround for Keras 3's multi-worker ``fit``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from kreg.errors import DistributedSetupError
from kreg.training.placement import Role


def use_cpu_devices(count: int) -> None:
    """Split the CPU into ``count`` logical devices (before TensorFlow starts its runtime).

    Lets ``MirroredStrategy`` run with several replicas on a machine without
    GPUs (tests, rehearsals).

    Example (doctest skipped: it must run before TensorFlow starts)::

        >>> use_cpu_devices(2)  # doctest: +SKIP
        >>> place("mirrored").name  # doctest: +SKIP
        'mirrored over 2 CPU devices'
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


def patch_keras_for_multiworker(model: Any, fit_arguments: dict[str, Any]) -> None:
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
        model._symbolic_build(data_batch=_sample_batch(fit_arguments))
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
