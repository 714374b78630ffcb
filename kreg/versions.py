"""Installed versions of distributions and of the Keras on the path (nothing is imported)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from kreg.errors import UnsupportedKerasError

SUPPORTED_KERAS = ">=3.10"
"""The Keras versions kreg supports (``pyproject.toml`` declares the same range): every minor
from 3.10 to the installed one passes tests/test_keras_versions.py, and `make test-compat`
passes with TensorFlow 2.16 and Keras 3.10. Older Keras fails parts of the suite (README)."""
_LOWEST_KERAS = (3, 10)
_VERSION_LINE = re.compile(r"""^__version__ = ["']([^"']+)["']""", re.MULTILINE)


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


def keras_version_on_path() -> str | None:
    """The version of the Keras that ``import keras`` would load, read from its source
    (``keras/src/version.py``, else ``keras/__init__.py``) without importing it.

    Example:
        >>> keras_version_on_path() == installed_version("keras")
        True
    """
    try:
        spec = importlib.util.find_spec("keras")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    for source in (root / "src" / "version.py", root / "__init__.py"):
        try:
            found = _VERSION_LINE.search(source.read_text())
        except OSError:
            continue
        if found:
            return found.group(1)
    return None


def check_keras_supported(version: str | None = None) -> None:
    """Raise :class:`~kreg.errors.UnsupportedKerasError` for a Keras outside
    :data:`SUPPORTED_KERAS` (``import kreg`` calls it; no Keras at all is left to pip).

    Example:
        >>> check_keras_supported("3.15.1")
        >>> check_keras_supported("2.15.0")
        Traceback (most recent call last):
        ...
        kreg.errors.UnsupportedKerasError: kreg supports Keras >=3.10; ... has Keras 2.15.0 ...
    """
    version = version or keras_version_on_path()
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
