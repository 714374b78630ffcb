"""kreg: a checked, pluggable catalogue of Keras losses, metrics, optimizers and schedules.

``import kreg`` imports neither TensorFlow nor Keras; the first :func:`get`
that builds a Keras object does.

Example:
    >>> import kreg
    >>> type(kreg.get("huber", delta=2.0)).__name__
    'Huber'
"""

from __future__ import annotations

from kreg.api import entries, get, lookup, plugins, prefer, reload
from kreg.errors import (
    AmbiguousComponentError,
    ComponentLoadError,
    ConfigError,
    ContractError,
    KregError,
    RegistrationError,
    UnknownComponentError,
)
from kreg.import_hook import when_imported

__version__ = "0.1.0"

last_run = None
"""The :class:`~kreg.train.Run` of the latest ``%%kcompile`` cell in this process."""

__all__ = [
    "AmbiguousComponentError",
    "ComponentLoadError",
    "ConfigError",
    "ContractError",
    "KregError",
    "RegistrationError",
    "UnknownComponentError",
    "check",
    "entries",
    "get",
    "hookimpl",
    "load_ipython_extension",
    "lookup",
    "plugins",
    "prefer",
    "reload",
]


def __getattr__(name: str) -> object:
    if name == "hookimpl":
        from kreg.hookspecs import hookimpl

        return hookimpl
    if name == "check":
        from kreg.contracts import check

        return check
    raise AttributeError(f"module 'kreg' has no attribute {name!r}")


def load_ipython_extension(shell: object) -> None:
    """``%load_ext kreg``: register ``%%kcompile``, ``%kreg`` and cell completion.

    Example (in IPython)::

        %load_ext kreg
    """
    from kreg.notebook.magics import load_ipython_extension as load

    load(shell)


def _register_keras_objects() -> None:
    import sys

    module = sys.modules.get("kreg.keras_objects")
    if module is not None and not hasattr(module, "on_keras_imported"):
        return  # kreg.keras_objects is importing Keras itself and finishes the job at its end
    from kreg import api

    if api._building:
        api._keras_pending = True  # a plugin imported Keras while loading: reload() finishes
        return
    from kreg.keras_objects import on_keras_imported

    on_keras_imported()


when_imported("keras", ("tensorflow",), _register_keras_objects)
