"""Run a callback once given modules have finished importing, without importing them.

kreg uses it to register its Keras objects when Keras (and TensorFlow, which
imports Keras half-way through its own start) are fully imported, so that
``import kreg`` alone never imports TensorFlow.
"""

from __future__ import annotations

import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any


def _ready(name: str, finished: set[str]) -> bool:
    if name in finished:
        return True
    module = sys.modules.get(name)
    if module is None:
        return name not in _watched_names()
    spec = getattr(module, "__spec__", None)
    return not getattr(spec, "_initializing", False)


_watchers: list[_Watcher] = []


def _watched_names() -> set[str]:
    return {name for watcher in _watchers for name in watcher.names}


class _Loader:
    """Delegates to the real loader, then tells the watcher the module is done."""

    def __init__(self, loader: Any, watcher: _Watcher, name: str) -> None:
        self._loader = loader
        self._watcher = watcher
        self._name = name

    def create_module(self, spec: Any) -> ModuleType | None:
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._watcher.finished_one(self._name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loader, attribute)


class _Watcher:
    def __init__(self, names: tuple[str, ...], main: str, callback: Callable[[], None]) -> None:
        self.names = names
        self.main = main
        self.callback = callback
        self.finished: set[str] = set()
        self._lock = threading.RLock()
        self._busy = False
        self._done = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in self.names or self._busy or self._done:
            return None
        import importlib.util

        with self._lock:
            self._busy = True
            try:
                spec = importlib.util.find_spec(fullname)
            finally:
                self._busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, self, fullname)  # type: ignore[assignment]
        return spec

    def finished_one(self, name: str) -> None:
        self.finished.add(name)
        self.fire_if_ready()

    def fire_if_ready(self) -> None:
        if self._done or self.main not in sys.modules:
            return
        if all(_ready(name, self.finished) for name in self.names):
            self._done = True
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            try:
                self.callback()
            except Exception as error:  # never break the user's import
                import warnings

                warnings.warn(f"kreg: post-import hook failed: {error!r}", stacklevel=2)


def when_imported(main: str, also: tuple[str, ...], callback: Callable[[], None]) -> None:
    """Call ``callback`` once ``main`` is imported and none of ``also`` is mid-import.

    If that is already the case, ``callback`` runs now.

    Example:
        >>> calls = []
        >>> when_imported("json", (), lambda: calls.append("json"))
        >>> import json
        >>> calls
        ['json']
    """
    watcher = _Watcher((main, *also), main, callback)
    if main in sys.modules:
        watcher.fire_if_ready()
        if watcher._done:
            return
    _watchers.append(watcher)
    sys.meta_path.insert(0, watcher)
