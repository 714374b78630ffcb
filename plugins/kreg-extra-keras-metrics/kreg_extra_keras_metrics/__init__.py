"""kreg bridge to extra-keras-metrics: its 21 binary metrics in the kreg registry.

The hooks are in :mod:`kreg_extra_keras_metrics.plugin` (entry point
``kreg = extra_keras_metrics``). Importing this package imports neither the library nor
TensorFlow.
"""
