"""Where a run executes: the one strategy chooser (``%%kcompile``, the widget, ``kreg train``).

``auto`` means, in this order: a model built under a strategy keeps it; several workers
in ``TF_CONFIG`` -> ``MultiWorkerMirroredStrategy``; several GPUs -> ``MirroredStrategy``;
a TPU -> ``TPUStrategy``; several logical CPUs (``kreg train --cpu-devices N``) ->
``MirroredStrategy`` over them; else TensorFlow's default strategy (one GPU when there
is one, else the CPU).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kreg.errors import DistributedSetupError, TrainingSetupError
from kreg.training.options import STRATEGIES

_TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}'
)


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
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Role:
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
                f"TF_CONFIG is not valid ({error}); it must be JSON like {_TF_CONFIG_EXAMPLE}"
            ) from None


@dataclass
class Placement:
    """Where a run executes: the strategy, its devices and how to say it in one line.

    Example:
        >>> Placement(None, "default", accelerator="CPU (2 cores)").describe()
        'CPU (2 cores) · default strategy'
    """

    strategy: Any
    name: str
    devices: list[str] = field(default_factory=list)
    accelerator: str = ""
    detail: str = ""
    replicated: bool = False
    """The strategy keeps replicas in sync (mirrored, multi-worker, TPU), not one device."""
    backend: str = "tensorflow"
    """The Keras backend: off TensorFlow, ``strategy`` is a :class:`DeviceScope`."""

    def describe(self) -> str:
        """e.g. ``1 GPU (NVIDIA H100) · default strategy``, or ``... · jax backend``.

        Example:
            >>> Placement(None, "default", accelerator="CPU (2 cores)", backend="jax").describe()
            'CPU (2 cores) · jax backend'
        """
        if self.backend != "tensorflow":
            text = f"{self.accelerator} · {self.backend} backend"
            return text if self.name == "default" else f"{text} · {self.name}"
        text = f"{self.accelerator} · {self.name} strategy"
        return f"{text} ({self.detail})" if self.detail else text

    def fit_scope(self) -> Any:
        """What ``fit`` runs inside: a JAX distribution's scope (it shards the batches).

        TensorFlow's strategies are entered by Keras itself; elsewhere nothing.

        Example:
            >>> with Placement(None, "default").fit_scope():
            ...     pass
        """
        if self.backend != "tensorflow" and self.strategy is not None:
            return self.strategy.scope()
        return contextlib.nullcontext()


def _accelerator(gpus: list[Any]) -> str:
    from kreg.kerasext.backend import describe_devices, gpu_names

    return describe_devices(gpu_names() if gpus else [])


def place(strategy: str, model: Any = None, role: Role | None = None) -> Placement:
    """Choose the ``tf.distribute`` strategy for ``--strategy`` on this machine.

    See the module's docstring for what ``auto`` chooses. ``role`` is read from
    ``TF_CONFIG`` when not given.

    Raises:
        TrainingSetupError: no such strategy, or no such device here.
        DistributedSetupError: a multi-worker run without a valid ``TF_CONFIG``.

    Example:
        >>> place("default").name
        'default'
        >>> place("parameter-server")
        Traceback (most recent call last):
        ...
        kreg.errors.TrainingSetupError: --strategy parameter-server: ...
    """
    if strategy not in STRATEGIES:
        raise TrainingSetupError(
            f"--strategy must be one of {', '.join(STRATEGIES)}. Received: {strategy!r}"
        )
    if strategy == "parameter-server":
        raise TrainingSetupError(
            "--strategy parameter-server: Keras 3's model.fit does not support TensorFlow's "
            "ParameterServerStrategy (only Keras 2 did); use --strategy multiworker (synchronous "
            "data parallelism over all workers' devices) instead"
        )
    from kreg.kerasext.backend import backend_name

    backend = backend_name()
    if backend != "tensorflow":
        from kreg.kerasext.backend import describe_devices
        from kreg.training.layouts import layout

        scope, name, devices = layout(strategy)
        return Placement(scope, name, devices, describe_devices(), backend=backend)
    import tensorflow as tf

    role = role or Role.from_environment()
    existing = getattr(model, "_distribute_strategy", None)
    if strategy == "auto" and existing is None and role.workers > 1:
        strategy = "multiworker"
    if strategy == "multiworker":  # before anything starts TensorFlow's runtime
        return _multiworker(role)
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    accelerator = _accelerator(gpus)
    if strategy == "auto":
        if existing is not None:
            one_device = isinstance(existing, tf.distribute.OneDeviceStrategy)
            name = type(existing).__name__
            return Placement(existing, name, accelerator=accelerator, replicated=not one_device)
        if len(gpus) > 1:
            strategy = "mirrored"
        elif tf.config.list_logical_devices("TPU"):
            strategy = "tpu"
        elif len(cpus) > 1:
            strategy = "mirrored"
        else:
            strategy = "default"
    if strategy == "default":
        return Placement(tf.distribute.get_strategy(), "default", accelerator=accelerator)
    if strategy == "mirrored":
        if isinstance(existing, tf.distribute.MirroredStrategy):
            devices = list(existing.extended.worker_devices)
            return Placement(existing, "mirrored", devices, accelerator, replicated=True)
        devices = [d.name for d in gpus] or [d.name for d in cpus]
        plural = "s" if len(devices) != 1 else ""
        what = f"{len(devices)} {'GPU' if gpus else 'CPU device'}{plural}"
        mirrored = tf.distribute.MirroredStrategy(devices=devices)
        return Placement(mirrored, f"mirrored over {what}", devices, accelerator, replicated=True)
    tpus = tf.config.list_logical_devices("TPU")
    if not tpus:
        raise TrainingSetupError(
            "--strategy tpu: no TPU is visible to TensorFlow here; use --strategy auto"
        )
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    devices = [d.name for d in tpus]
    return Placement(
        tf.distribute.TPUStrategy(resolver), "tpu", devices, accelerator, replicated=True
    )


def _multiworker(role: Role) -> Placement:
    import tensorflow as tf

    if role.workers < 1 or "TF_CONFIG" not in os.environ:
        raise DistributedSetupError(
            f"--strategy multiworker needs TF_CONFIG on every worker, e.g. {_TF_CONFIG_EXAMPLE} "
            "(index differs per worker). From a notebook, export the run (--export PATH) and "
            "start `kreg train PATH --strategy multiworker` on each worker"
        )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    try:
        chosen = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except Exception as error:
        raise DistributedSetupError(
            f"MultiWorkerMirroredStrategy could not start ({error}); it must be created before "
            "TensorFlow runs anything: start the job with `kreg train --strategy multiworker`"
        ) from error
    detail = (
        f"{role.workers} workers, this is {role.task_type} {role.task_id}, "
        f"{chosen.num_replicas_in_sync} replicas in sync"
    )
    accelerator = _accelerator(tf.config.list_logical_devices("GPU"))
    return Placement(
        chosen, "multi-worker mirrored", accelerator=accelerator, detail=detail, replicated=True
    )


def needs_rebuild(model: Any, placement: Placement) -> bool:
    """Whether ``model``'s variables live outside the chosen strategy (so it must be cloned).

    Example:
        >>> needs_rebuild(None, Placement(None, "default"))
        False
    """
    existing = getattr(model, "_distribute_strategy", None)
    if placement.name == "default":
        return existing is not None
    return existing is not placement.strategy
