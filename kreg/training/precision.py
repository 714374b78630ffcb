"""Mixed precision and models rebuilt for a strategy: the policy, the clone, loss scaling."""

from __future__ import annotations

from typing import Any

from kreg.training.placement import Placement


def mixed_policy() -> str:
    """The ``--mixed-precision`` policy for this backend and machine.

    TensorFlow: ``mixed_float16`` on a GPU (tensor cores, with loss scaling), else
    ``mixed_bfloat16``. JAX and PyTorch: ``mixed_bfloat16`` everywhere (what their
    users run on current GPUs and TPUs: float32's range, so no loss scaling).

    Example:
        >>> mixed_policy()  # this machine has no GPU
        'mixed_bfloat16'
    """
    from kreg.kerasext.backend import gpu_names, is_tensorflow

    return "mixed_float16" if is_tensorflow() and gpu_names() else "mixed_bfloat16"


def add_loss_scaling(compile_args: dict[str, Any], policy: str | None) -> None:
    """Under ``mixed_float16``, wrap the optimizer of ``compile_args`` in a ``LossScaleOptimizer``.

    float16 gradients underflow without loss scaling; bfloat16 has float32's range, so
    nothing changes for other policies. Without an optimizer, Keras's default (RMSprop)
    is wrapped.

    Example:
        >>> import keras
        >>> args = {"optimizer": keras.optimizers.Adam()}
        >>> add_loss_scaling(args, "mixed_bfloat16"); type(args["optimizer"]).__name__
        'Adam'
        >>> add_loss_scaling(args, "mixed_float16"); type(args["optimizer"]).__name__
        'LossScaleOptimizer'
    """
    if policy != "mixed_float16":
        return
    import keras

    optimizer = keras.optimizers.get(compile_args.get("optimizer") or "rmsprop")
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    compile_args["optimizer"] = optimizer


def rebuild(model: Any, placement: Placement, dtype: str | None = None) -> Any:
    """Clone ``model`` in the strategy's scope, optionally with a dtype policy; copy weights.

    The output layer keeps its dtype (float32 outputs are what losses expect).

    Example:
        >>> import keras
        >>> from kreg.training.placement import place
        >>> layers = [keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)]
        >>> model = keras.Sequential(layers)
        >>> clone = rebuild(model, place("default"), dtype="mixed_bfloat16")
        >>> clone.layers[0].dtype_policy.name, clone.layers[-1].dtype_policy.name
        ('mixed_bfloat16', 'float32')
    """
    import keras

    last = model.layers[-1] if getattr(model, "layers", None) else None

    def clone_layer(layer: Any) -> Any:
        config = layer.get_config()
        if dtype is not None and layer is not last and "dtype" in config:
            config["dtype"] = dtype
        return layer.__class__.from_config(config)

    with placement.strategy.scope():
        clone = keras.models.clone_model(model, clone_function=clone_layer)
        clone.set_weights(model.get_weights())
    return clone
