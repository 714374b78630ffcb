"""Installed versions of distributions and of the Keras on the path (nothing is imported)."""

from __future__ import annotations

import re

from kreg.errors import UnsupportedKerasError

SUPPORTED_KERAS = ">=3.10"
"""The Keras versions kreg supports (``pyproject.toml`` declares the same range): every minor
from 3.10 to the installed one passes tests/test_keras_versions.py, and `make test-compat`
passes with TensorFlow 2.16 and Keras 3.10. Older Keras fails parts of the suite (README)."""
_LOWEST_KERAS = (3, 10)


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed.

    Example:
        >>> installed_version("kreg"), installed_version("no-such-distribution")
        ('0.1.0', None)
    """
    import importlib.metadata  # tens of milliseconds: not on `import kreg`'s path

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_keras_supported(version: str | None) -> None:
    """Raise :class:`~kreg.errors.UnsupportedKerasError` for a Keras outside
    :data:`SUPPORTED_KERAS`; ``None`` (no Keras at all) is left to pip. ``import kreg`` calls
    it with :func:`kreg.registry.sources.keras_version_on_path`.

    Example:
        >>> check_keras_supported("3.15.1")
        >>> check_keras_supported("2.15.0")
        Traceback (most recent call last):
        ...
        kreg.errors.UnsupportedKerasError: kreg supports Keras >=3.10; ... has Keras 2.15.0 ...
    """
    if version is None:
        return
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if numbers >= _LOWEST_KERAS:
        return
    raise UnsupportedKerasError(
        f"kreg supports Keras {SUPPORTED_KERAS}; this environment has Keras {version}. "
        f"Upgrade it: pip install 'keras{SUPPORTED_KERAS}' (TensorFlow 2.16 and later work "
        "with it), or use a kreg release for your Keras."
    )
