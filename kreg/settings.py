"""Every ``KREG_*`` environment variable, and when kreg reads it.

Each is read when it is used, never at import, so a notebook can change one with
``os.environ[...] = ...`` and have it apply to the next use:

- ``KREG_PLUGINS``: comma-separated plugin names; only those third-party plugins load
  (set but empty: the built-ins only). Read by every :func:`kreg.reload` (the first
  lookup included).
- ``KREG_DISABLE_PLUGINS``: comma-separated plugin names that do not load. Read with
  ``KREG_PLUGINS``.
- ``KREG_PREFER``: comma-separated ``plugin:name`` or ``plugin`` choices that win a name
  collision. Read by every :func:`kreg.reload`, after the plugins loaded.
- ``KREG_SAFETY_COPY_GB``: the largest state (weights + optimizer variables, in GB) of
  which training keeps an epoch-end host copy (default 2; 0: never copy). Read when each
  training run starts.
"""

from __future__ import annotations

import os

from kreg.errors import SettingError
from kreg.names import normalize

PLUGINS = "KREG_PLUGINS"
DISABLE_PLUGINS = "KREG_DISABLE_PLUGINS"
PREFER = "KREG_PREFER"
SAFETY_COPY_GB = "KREG_SAFETY_COPY_GB"
DEFAULT_SAFETY_COPY_GB = 2.0


def _names(variable: str) -> list[str]:
    return [part.strip() for part in os.environ.get(variable, "").split(",") if part.strip()]


def allowed_plugins() -> set[str] | None:
    """Normalised names ``KREG_PLUGINS`` allows, or None when it is not set (all plugins).

    Example:
        >>> import os
        >>> os.environ["KREG_PLUGINS"] = "Acme, my_plugin"
        >>> sorted(allowed_plugins())
        ['acme', 'myplugin']
        >>> del os.environ["KREG_PLUGINS"]
        >>> allowed_plugins() is None
        True
    """
    if PLUGINS not in os.environ:
        return None
    return {normalize(name) for name in _names(PLUGINS)}


def disabled_plugins() -> set[str]:
    """Normalised names ``KREG_DISABLE_PLUGINS`` skips.

    Example:
        >>> import os
        >>> os.environ["KREG_DISABLE_PLUGINS"] = "contrib"
        >>> disabled_plugins()
        {'contrib'}
        >>> del os.environ["KREG_DISABLE_PLUGINS"]
    """
    return {normalize(name) for name in _names(DISABLE_PLUGINS)}


def preferred() -> list[str]:
    """The ``plugin:name`` or ``plugin`` choices of ``KREG_PREFER``, in order.

    Example:
        >>> import os
        >>> os.environ["KREG_PREFER"] = "contrib:quantile, acme"
        >>> preferred()
        ['contrib:quantile', 'acme']
        >>> del os.environ["KREG_PREFER"]
    """
    return _names(PREFER)


def safety_copy_limit_gb() -> float:
    """``KREG_SAFETY_COPY_GB`` as a number of gigabytes (default 2).

    Raises:
        SettingError: the variable is not a non-negative number.

    Example:
        >>> safety_copy_limit_gb()
        2.0
    """
    raw = os.environ.get(SAFETY_COPY_GB, "").strip()
    if not raw:
        return DEFAULT_SAFETY_COPY_GB
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses NaN
        raise SettingError(
            f"{SAFETY_COPY_GB} must be a number of gigabytes >= 0 (e.g. 2; 0 never copies). "
            f"Received: {raw!r}"
        )
    return value
