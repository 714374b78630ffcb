"""The Keras backend in use (TensorFlow, JAX or PyTorch), and what differs between them.

kreg's checks and runs ask this module, never a backend directly: gradients come from
the backend's own autodiff, "compiled" means what Keras's trainer compiles with on that
backend (``tf.function``, ``jax.jit``; PyTorch runs eagerly by default), and device
names come from the backend's own device list. Nothing here imports TensorFlow unless
TensorFlow is the backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

TENSORFLOW, JAX, TORCH = "tensorflow", "jax", "torch"


class NotApplicable(Exception):
    """What was asked has no meaning on this backend; the message says why."""


def configured_backend() -> str:
    """The backend Keras will choose, read as Keras reads it, without importing Keras.

    ``KERAS_BACKEND`` if set, else ``"backend"`` in ``$KERAS_HOME/keras.json`` (default
    ``~/.keras/keras.json``), else TensorFlow.

    Example:
        >>> import os
        >>> configured_backend() == os.environ.get("KERAS_BACKEND", configured_backend())
        True
    """
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as handle:
            found = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        found = None
    return str(found or TENSORFLOW)


def backend_name() -> str:
    """The Keras backend in use: ``"tensorflow"``, ``"jax"``, ``"torch"`` (or ``"numpy"``).

    Example:
        >>> backend_name() in ("tensorflow", "jax", "torch", "numpy")
        True
    """
    import keras

    name: str = keras.config.backend()
    return name


def is_tensorflow() -> bool:
    """Whether Keras runs on TensorFlow (the default, and ``tf.distribute``'s home).

    Example:
        >>> is_tensorflow() == (backend_name() == "tensorflow")
        True
    """
    return backend_name() == TENSORFLOW


def gpu_names() -> list[str]:
    """One name per GPU the backend sees (e.g. ``["NVIDIA H200"]``); [] on a CPU machine.

    Example:
        >>> gpu_names()  # this machine has no GPU
        []
    """
    name = backend_name()
    if name == JAX:
        import jax

        return [str(d.device_kind) for d in jax.devices() if d.platform == "gpu"]
    if name == TORCH:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [torch.cuda.get_device_name(i) for i in range(count)]
    if name == TENSORFLOW:
        import tensorflow as tf

        names = []
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                details = tf.config.experimental.get_device_details(gpu)
            except Exception:  # pragma: no cover - driver-specific
                details = {}
            names.append(str(details.get("device_name", gpu.name)))
        return names
    return []


def describe_devices(gpus: Sequence[str] | None = None) -> str:
    """The accelerator in words: ``1 GPU (NVIDIA H200)``, or ``CPU (16 cores)``.

    Example:
        >>> describe_devices(["NVIDIA H200", "NVIDIA H200"])
        '2 GPUs (NVIDIA H200)'
        >>> describe_devices([]).startswith("CPU (")
        True
    """
    gpus = gpu_names() if gpus is None else list(gpus)
    if not gpus:
        return f"CPU ({os.cpu_count()} cores)"
    plural = "s" if len(gpus) > 1 else ""
    return f"{len(gpus)} GPU{plural} ({', '.join(sorted(set(gpus)))})"


def to_tensor(leaf: Any) -> Any:
    """An array as the backend's tensor (a TensorFlow ``RaggedTensor`` stays as it is).

    Example:
        >>> import numpy as np
        >>> tuple(to_tensor(np.zeros((2, 3))).shape)
        (2, 3)
    """
    if type(leaf).__name__ == "RaggedTensor":
        return leaf
    import keras

    return keras.ops.convert_to_tensor(leaf)


def value_and_gradients(
    function: Callable[[list[Any]], Any], inputs: Sequence[Any]
) -> tuple[Any, list[Any]]:
    """``function(inputs)`` and its sum's gradient with respect to each input.

    The backend's own autodiff: ``tf.GradientTape``, ``jax.grad`` or ``torch.autograd``.
    An input the result does not depend on gets None on TensorFlow and PyTorch, and
    zeros on JAX. A ragged input (TensorFlow) is differentiated through its flat values.

    Example:
        >>> import numpy as np
        >>> value, (gradient,) = value_and_gradients(lambda xs: xs[0] ** 2, [np.ones(2)])
        >>> [float(g) for g in gradient]
        [2.0, 2.0]
    """
    name = backend_name()
    if name == TENSORFLOW:
        import tensorflow as tf

        tensors = [to_tensor(leaf) for leaf in inputs]
        watched = [getattr(t, "flat_values", t) for t in tensors]
        with tf.GradientTape() as tape:
            for tensor in watched:
                tape.watch(tensor)
            result = function(tensors)
        return result, list(tape.gradient(result, watched))
    if name == JAX:
        import jax
        import jax.numpy as jnp

        arrays = [jnp.asarray(leaf) for leaf in inputs]
        result = function(arrays)
        gradients = jax.grad(lambda xs: jnp.sum(function(xs)))(arrays)
        return result, list(gradients)
    if name == TORCH:
        import torch

        tensors = [to_tensor(leaf).detach().clone().requires_grad_(True) for leaf in inputs]
        result = function(tensors)
        if not (isinstance(result, torch.Tensor) and result.requires_grad):
            return result, [None] * len(tensors)  # the graph was left: no gradient at all
        found = torch.autograd.grad(result.sum(), tensors, allow_unused=True)
        return result.detach(), list(found)
    raise NotApplicable(f"the {name} backend has no autodiff")


def compiled_name() -> str:
    """What Keras's trainer compiles a step with on this backend, for messages.

    Example:
        >>> compiled_name() in ("tf.function", "jax.jit", "eager")
        True
    """
    return {TENSORFLOW: "tf.function", JAX: "jax.jit"}.get(backend_name(), "eager")


def compiled_check_name() -> str:
    """The name of the "same value when compiled" check: ``tf_function`` or ``compiled``.

    TensorFlow keeps the name its reports always had; other backends say ``compiled``.

    Example:
        >>> compiled_check_name() in ("tf_function", "compiled")
        True
    """
    return "tf_function" if is_tensorflow() else "compiled"


def compiled(function: Callable[..., Any], *, xla: bool = False) -> Callable[..., Any]:
    """``function`` compiled as ``fit()`` compiles a step on this backend.

    TensorFlow: ``tf.function`` (with ``jit_compile=xla``). JAX: ``jax.jit``, which is
    always XLA. PyTorch and NumPy: Keras runs steps eagerly by default
    (``jit_compile="auto"`` is False there), so there is nothing to compare.

    Raises:
        NotApplicable: the backend compiles nothing by default, or ``xla`` on JAX
            (``jax.jit`` is XLA already) or PyTorch (no XLA).

    Example:
        >>> import numpy as np
        >>> float(compiled(lambda a: a * 2)(to_tensor(np.float32(3))))
        6.0
    """
    name = backend_name()
    if name == TENSORFLOW:
        import tensorflow as tf

        traced: Callable[..., Any] = tf.function(
            function, jit_compile=xla, reduce_retracing=True, autograph=False
        )
        return traced
    if name == JAX:
        if xla:
            raise NotApplicable("on JAX every compiled step is XLA: the jax.jit check covers it")
        import jax

        jitted: Callable[..., Any] = jax.jit(function)
        return jitted
    if name == TORCH:
        raise NotApplicable(
            "Keras's PyTorch trainer runs steps eagerly (jit_compile='auto' is False on "
            "torch; jit_compile=True uses torch.compile, which kreg does not check)"
            if not xla
            else "the PyTorch backend has no XLA"
        )
    raise NotApplicable(f"the {name} backend runs eagerly")


def compiled_metric_steps(metric: Any) -> Callable[[Any, Any], Any]:
    """``update_state`` then ``result``, compiled as ``fit()`` runs a metric on this backend.

    TensorFlow: one ``tf.function`` (without autograph, as Keras traces metrics).
    JAX: ``jax.jit`` over the stateless API (``stateless_update_state`` and
    ``stateless_result``), which is how Keras's JAX trainer updates metrics; the state is
    carried between calls and written back to the metric's variables. A metric that
    creates its variables on its first update is built by one eager update, then reset.

    Raises:
        NotApplicable: PyTorch and NumPy run metrics eagerly.

    Example:
        >>> import keras, numpy as np
        >>> step = compiled_metric_steps(keras.metrics.Mean())
        >>> float(step(np.ones(2), np.ones(2)))  # Mean(values, sample_weight)
        1.0
    """
    name = backend_name()
    if name == TENSORFLOW:
        import tensorflow as tf

        def step(y_true: Any, y_pred: Any) -> Any:
            metric.update_state(y_true, y_pred)
            return metric.result()

        # As Keras calls metrics: without autograph, Python `if` is not converted.
        traced: Callable[[Any, Any], Any] = tf.function(step, autograph=False)
        return traced
    if name != JAX:
        raise NotApplicable(
            f"Keras's {name} trainer updates metrics eagerly by default: there is no compiled "
            "update to compare with the eager one"
        )
    import jax

    def pure(state: list[Any], y_true: Any, y_pred: Any) -> tuple[list[Any], Any]:
        state = metric.stateless_update_state(state, y_true, y_pred)
        return state, metric.stateless_result(state)

    jitted = jax.jit(pure)

    def carried(y_true: Any, y_pred: Any) -> Any:
        if not metric.variables:  # built on its first update, as in Keras's symbolic build
            metric.update_state(y_true, y_pred)
            metric.reset_state()
        state, result = jitted([v.value for v in metric.variables], y_true, y_pred)
        for variable, value in zip(metric.variables, state):
            variable.assign(value)
        return result

    return carried


def step_tensor(step: int) -> Any:
    """A training step number as the optimizer's ``iterations`` holds it on this backend.

    int64 on TensorFlow and PyTorch; int32 on JAX, whose 64-bit types are off by default.

    Example:
        >>> int(step_tensor(7))
        7
    """
    import keras

    dtype = "int32" if backend_name() == JAX else "int64"
    return keras.ops.convert_to_tensor(step, dtype=dtype)


def compiler_phrase(jit_compile: bool) -> str:
    """How a model's steps are compiled, in the backend's words, for a run's header.

    Example:
        >>> compiler_phrase(False) in ("XLA off", "jax.jit off", "torch.compile off")
        True
    """
    word = {JAX: "jax.jit (XLA)", TORCH: "torch.compile"}.get(backend_name(), "XLA")
    if backend_name() == JAX and not jit_compile:
        word = "jax.jit"
    return f"{word} {'on' if jit_compile else 'off'}"
