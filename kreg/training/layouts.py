"""Where a run executes on JAX and PyTorch: the device, and on JAX a ``keras.distribution``.

TensorFlow's ``tf.distribute`` strategies (:mod:`kreg.training.placement`) do not exist
on the other backends. There, ``--strategy auto`` (and ``default``) means:

- JAX: ``keras.distribution.DataParallel`` over the local accelerators when there are
  several (the batch is split across them, the weights replicated), else one device;
- PyTorch: one device, the GPU when there is one (Keras's PyTorch trainer has no data
  parallelism of its own).

``mirrored``, ``multiworker`` and ``tpu`` name ``tf.distribute`` strategies and are
refused with what to use instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from kreg.errors import TrainingSetupError
from kreg.kerasext.backend import JAX, backend_name, gpu_names

TENSORFLOW_ONLY = ("mirrored", "multiworker", "tpu")
"""``--strategy`` values that name a ``tf.distribute`` strategy."""


class DeviceScope:
    """A strategy stand-in: ``scope()`` enters the distribution (if any) or does nothing.

    Example:
        >>> with DeviceScope().scope():
        ...     pass
        >>> DeviceScope().num_replicas_in_sync
        1
    """

    def __init__(self, distribution: Any = None, replicas: int = 1) -> None:
        self.distribution = distribution
        self.num_replicas_in_sync = replicas

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Variables made and steps run inside are laid out by the distribution."""
        if self.distribution is None:
            yield
            return
        with self.distribution.scope():
            yield


def refuse_tensorflow_strategy(strategy: str, backend: str) -> None:
    """Raise for a ``tf.distribute`` strategy asked for on another backend; else nothing.

    Raises:
        TrainingSetupError: ``strategy`` is one of :data:`TENSORFLOW_ONLY`.

    Example:
        >>> refuse_tensorflow_strategy("auto", "jax")
        >>> refuse_tensorflow_strategy("mirrored", "jax")
        Traceback (most recent call last):
        ...
        kreg.errors.TrainingSetupError: --strategy mirrored is TensorFlow's ...
    """
    if strategy not in TENSORFLOW_ONLY:
        return
    if backend == JAX:
        instead = (
            "--strategy auto, which uses keras.distribution.DataParallel over the local "
            "devices when there are several"
        )
    else:
        instead = (
            "--strategy auto (one device: Keras's PyTorch trainer has no data parallelism; "
            "use torch.distributed in your own loop)"
        )
    raise TrainingSetupError(
        f"--strategy {strategy} is TensorFlow's tf.distribute, and Keras runs on {backend} "
        f"here (KERAS_BACKEND={backend}): use {instead}, or KERAS_BACKEND=tensorflow"
    )


def jax_devices() -> list[Any]:
    """The local devices a JAX ``DataParallel`` would use: the accelerators, else the CPUs.

    Example:
        >>> len(jax_devices()) >= 1
        True
    """
    import keras

    devices: list[Any] = list(keras.distribution.list_devices())
    return devices


def layout(strategy: str) -> tuple[DeviceScope, str, list[str]]:
    """``(scope, name, devices)`` for ``strategy`` on the backend in use (not TensorFlow).

    ``name`` is ``"default"`` on one device, else ``"DataParallel over N devices"``.

    Raises:
        TrainingSetupError: a ``tf.distribute`` strategy (see :func:`refuse_tensorflow_strategy`).

    Example:
        >>> layout("default")[1]
        'default'
    """
    backend = backend_name()
    refuse_tensorflow_strategy(strategy, backend)
    if backend != JAX or strategy == "default":
        return DeviceScope(), "default", []
    devices = [str(device) for device in jax_devices()]
    if len(devices) < 2:
        return DeviceScope(), "default", devices
    import keras

    distribution = keras.distribution.DataParallel(devices=devices)
    kind = "GPUs" if gpu_names() else "devices"
    name = f"DataParallel over {len(devices)} {kind}"
    return DeviceScope(distribution, len(devices)), name, devices
