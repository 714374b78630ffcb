"""Installed versions of distributions, read from their metadata (nothing is imported)."""

from __future__ import annotations

import importlib.metadata


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed.

    Example:
        >>> installed_version("kreg"), installed_version("no-such-distribution")
        ('0.1.0', None)
    """
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
