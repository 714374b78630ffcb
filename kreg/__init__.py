"""kreg: a checked, pluggable catalogue of Keras losses, metrics, optimizers and schedules.

``import kreg`` imports neither TensorFlow nor Keras; the first :func:`get`
that builds a Keras object does.

``kreg.last_run`` is the :class:`~kreg.training.run.Run` of the latest training run in
this process (a ``%%kcompile`` cell or the widget), or None.

Example:
    >>> import kreg
    >>> type(kreg.get("huber", delta=2.0)).__name__
    'Huber'
"""

from __future__ import annotations

from kreg.errors import (
    AmbiguousComponentError,
    ComponentLoadError,
    ConfigError,
    ContractError,
    KregError,
    RegistrationError,
    UnknownComponentError,
    UnsupportedKerasError,
)
from kreg.registry.catalog import entries, get, lookup, plugins, prefer, reload
from kreg.registry.sources import keras_version_on_path
from kreg.versions import check_keras_supported

# A Keras too old for kreg says so now, naming the supported range.
check_keras_supported(keras_version_on_path())

__all__ = [
    "AmbiguousComponentError",
    "ComponentLoadError",
    "ConfigError",
    "ContractError",
    "KregError",
    "RegistrationError",
    "UnknownComponentError",
    "UnsupportedKerasError",
    "check",
    "compare",
    "entries",
    "get",
    "hookimpl",
    "last_run",
    "load_ipython_extension",
    "lookup",
    "plugins",
    "prefer",
    "preflight",
    "reload",
]


def __getattr__(name: str) -> object:
    if name == "hookimpl":
        from kreg.registry.hookspecs import hookimpl

        return hookimpl
    if name == "check":
        from kreg.registry.checking import check

        return check
    if name == "compare":
        from kreg.ui.comparison import compare

        return compare
    if name in ("preflight", "Preflight", "Finding"):
        import kreg.preflight_checks as module

        return getattr(module, name)
    if name == "__version__":
        from kreg.versions import installed_version

        return installed_version("kreg") or "0+unknown"
    if name == "last_run":
        from kreg.training.run import latest_run

        return latest_run()
    raise AttributeError(f"module 'kreg' has no attribute {name!r}")


def load_ipython_extension(shell: object) -> None:
    """``%load_ext kreg``: register ``%%kcompile``, ``%kreg`` and cell completion.

    Example (in IPython)::

        %load_ext kreg
    """
    from kreg.ui.notebook.magics import load_ipython_extension as load

    load(shell)


# Last, once the package is complete: with Keras already imported this loads the plugins
# now, and a plugin's own `import kreg` must find `kreg.hookimpl`.
from kreg.registry.catalog import watch_keras as _watch_keras  # noqa: E402

_watch_keras()
