"""Hide TensorFlow from a Python process, as on a machine where it is not installed.

Put this folder first on ``PYTHONPATH``: Python runs ``sitecustomize`` at start, also in
the worker processes ``kreg check -j`` spawns. ``import tensorflow`` then fails with
``ModuleNotFoundError`` and ``importlib.util.find_spec("tensorflow")`` is None, which is
what Keras (``tf.available``) and PyTorch (``torch._dynamo``) ask. tests/test_backends.py
uses it to run kreg on JAX and PyTorch as on the lent GPU machine, which has no TensorFlow.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

_find_spec = importlib.util.find_spec


def _hidden(name: str) -> bool:
    return name == "tensorflow" or name.startswith("tensorflow.")


class _HideTensorFlow:
    """A meta path finder that refuses TensorFlow's modules."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if _hidden(name):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)


def find_spec(name: str, package: str | None = None) -> Any:
    """``importlib.util.find_spec``, which answers None for TensorFlow's modules."""
    return None if _hidden(name) else _find_spec(name, package)


importlib.util.find_spec = find_spec
sys.meta_path.insert(0, _HideTensorFlow())
