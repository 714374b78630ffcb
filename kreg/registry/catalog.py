"""The catalogue: the process-wide index of every plugin's entries, and the public lookups.

One :class:`Catalog` object (:data:`CATALOG`) holds what was module state before: the
current :class:`~kreg.registry.index.Index` (its resolution cache included), what each
plugin did, the lock that builds it once, and who may use it while plugins load. Its
bound methods are the public functions (``kreg.get`` is ``CATALOG.get``).

Importing this module imports neither Keras nor pluggy, nor the rest of the registry:
``import kreg`` stays a few milliseconds; the first lookup imports what it needs.
"""

from __future__ import annotations

import functools
import importlib
import threading

from kreg.errors import ContractError, RegistrationError, UnknownComponentError
from kreg.kerasext.hook import when_imported
from kreg.warn import warn_caller

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from kreg.registry.entry import Entry
    from kreg.registry.index import Index
    from kreg.registry.plugins import PluginInfo


class Catalog:
    """Every registered component, built (plugins discovered) on first use.

    While plugins load, the thread loading them may not use the catalogue: that
    would let one plugin read or change what others registered.

    Example:
        >>> CATALOG.index().resolve("adam").entry.kind
        'optimizer'
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._index: Index | None = None
        self._plugins: list[PluginInfo] = []
        self._loader: int | None = None  # the thread loading plugins
        self._keras_pending = False  # Keras finished importing while plugins loaded
        self._keras_done = False  # kreg's own Keras-side setup has run

    def index(self) -> Index:
        """The current index, built on first use (another thread building it: wait for it).

        Raises:
            RegistrationError: called by a plugin while kreg loads plugins.
        """
        found = self._index
        if found is not None:
            return found
        self._refuse_plugin_code()
        with self._lock:
            if self._index is None:
                self.reload()
            assert self._index is not None
            return self._index

    def _refuse_plugin_code(self) -> None:
        if self._loader is not None and self._loader == threading.get_ident():
            raise RegistrationError(
                "a plugin used the kreg registry (kreg.get/lookup/entries/reload) while kreg "
                "was loading plugins; a plugin only registers its own components, with the "
                "`register` argument of its hooks"
            )

    def reload(self) -> Index:
        """Discover plugins again (after ``pip install`` in a running notebook, say).

        ``KREG_PREFER`` (comma-separated ``plugin:name`` or ``plugin``) is applied
        to the fresh index.

        Example:
            >>> import kreg
            >>> kreg.reload().resolve("sgd").entry.plugin
            'keras'
        """
        from kreg import settings
        from kreg.registry.index import Index
        from kreg.registry.plugins import load_plugins

        self._refuse_plugin_code()
        with self._lock:
            previous, self._index = self._index, None  # plugin code reaches index(): refused
            fresh = Index()
            self._loader = threading.get_ident()
            try:
                infos = load_plugins(fresh)
            except BaseException:
                self._index = previous
                raise
            finally:
                self._loader = None
            for choice in settings.preferred():
                try:
                    fresh.prefer(choice)
                except (UnknownComponentError, LookupError) as error:
                    warn_caller(f"{settings.PREFER}: ignoring {choice!r}: {error}")
            self._index, self._plugins = fresh, infos
        if self._keras_pending:
            self.keras_ready()
        return fresh

    def get(self, name: Any, /, kind: str | None = None, **config: Any) -> Any:
        """Return a ready-to-use Keras loss, metric, optimizer or schedule by name.

        Names are case-insensitive and ignore ``_``, ``-`` and spaces; class names,
        snake_case names, Keras aliases (``mse``) and Keras 2 spellings (with a
        ``DeprecationWarning``) all work, as does ``plugin:name``. Keyword
        arguments go to the component; Keras 2 arguments (``lr``, ``decay``,
        ``reduction="auto"``) are translated with a warning. Objects that are not
        strings are returned unchanged.

        Args:
            name: a registered name, or an already built object.
            kind: ``"loss"``, ``"metric"``, ``"optimizer"`` or ``"schedule"``;
                needed when a name exists in several kinds (``mse``).
            **config: constructor arguments.

        Raises:
            UnknownComponentError: no such name (``.suggestions`` lists close ones).
            AmbiguousComponentError: the name exists in several kinds.
            ConfigError: unknown, missing or invalid argument.

        Example:
            >>> import kreg
            >>> loss = kreg.get("huber", delta=2.0)
            >>> type(loss).__name__, loss.get_config()["delta"]
            ('Huber', 2.0)
        """
        if name.__class__ is not str:
            return name
        index = self._index
        if index is None:
            index = self.index()
        try:
            candidate = index.cache.get((name, kind))
        except TypeError:  # an unhashable kind: resolve() explains
            candidate = None
        candidate = candidate or index.resolve(name, kind)
        if candidate.deprecated:
            entry = candidate.entry
            warn_caller(
                f"{candidate.spelling!r} is a Keras 2 name; use {entry.name!r} "
                f"({entry.public_path}).",
                DeprecationWarning,
            )
        try:
            return candidate.entry.create(config)
        except ContractError:
            if ":" in name:
                raise
            index.cache.clear()  # the entry is now known to be rejected: another may win
            other = index.resolve(name, kind)
            if other.entry is candidate.entry:
                raise
            return other.entry.create(config)

    def lookup(self, name: str, kind: str | None = None) -> Entry:
        """Return the :class:`~kreg.registry.entry.Entry` a name resolves to, importing nothing.

        Raises:
            UnknownComponentError: no such name.
            AmbiguousComponentError: the name exists in several kinds.
            ConfigError: ``name`` is not a string, or ``kind`` is not a kind.

        Example:
            >>> import kreg
            >>> kreg.lookup("MSE", kind="metric").name
            'mean_squared_error'
        """
        index = self._index
        if index is None:
            index = self.index()
        try:
            found = index.cache.get((name, kind))
        except TypeError:  # an unhashable name or kind: resolve() explains
            found = None
        return (found or index.resolve(name, kind)).entry

    def entries(self, kind: str | None = None, pattern: str | None = None) -> list[Entry]:
        """List registered entries, optionally of one kind and matching an fnmatch pattern.

        Example:
            >>> import kreg
            >>> [e.name for e in kreg.entries("schedule", "*exponential*")]
            ['exponential_decay']
        """
        return self.index().entries(kind, pattern)

    def plugins(self) -> list[PluginInfo]:
        """What each plugin provided, and why any failed or was disabled.

        Example:
            >>> import kreg
            >>> [p.name for p in kreg.plugins() if p.source == "built-in"]
            ['keras']
        """
        self.index()
        return list(self._plugins)

    def prefer(self, choice: str) -> None:
        """Make ``plugin:name`` (or every name of ``plugin``) win a name collision.

        Example:
            >>> import kreg
            >>> kreg.prefer("keras:huber")
            >>> kreg.lookup("huber").plugin
            'keras'
        """
        self.index().prefer(choice)

    def keras_ready(self) -> None:
        """Keras has finished importing: do kreg's Keras-side setup (the import hook calls this).

        Makes every plugin component loadable by ``keras.models.load_model`` without
        ``custom_objects``: imported ones are registered with Keras's serialization; a
        lazy ``"module:Name"`` entry is not imported now, but a stand-in registered under
        its name imports it when a saved model needs it. Also registers kreg's own Keras
        classes and repairs ``get_config`` of the built-in classes whose Keras drops
        arguments (once). While plugins load (one of them imported Keras) it waits for
        :meth:`reload` to finish.
        """
        if self._loader is not None:
            self._keras_pending = True
            return
        self._keras_pending = False
        from kreg.kerasext.serialization import (
            make_serializable,
            register_lazily,
            repair_class_config,
        )
        from kreg.registry import build
        from kreg.registry.sources import is_function

        # Their classes register themselves with Keras when imported (maybe mid-import now).
        importlib.import_module("kreg.kerasext.accuracy")
        importlib.import_module("kreg.kerasext.losses")
        first = not self._keras_done
        self._keras_done = True
        for entry in self.index().entries_list:
            if entry.is_builtin and not first:
                continue
            if not entry.is_builtin and not build.is_loaded(entry):
                module, _, attribute = entry.target.partition(":")
                load = functools.partial(_load_for_keras, entry)
                # kreg registers plugin objects as "<plugin>>Name"; a library that registers
                # its own classes usually uses its top-level package's name.
                function = is_function(entry.target)
                for package in dict.fromkeys((entry.plugin, module.partition(".")[0])):
                    register_lazily(f"{package}>{attribute}", load, function, module)
                continue
            try:
                target = build.load(entry)
            except Exception:
                continue
            if not entry.is_builtin:
                make_serializable(target, entry.plugin)
            elif entry.kind in ("loss", "metric") and isinstance(target, type):
                repair_class_config(target)


def _load_for_keras(entry: Entry) -> Any:
    """Import ``entry``'s target and register it with Keras (a saved model needs it).

    Prepared as for ``kreg.get`` (its ``get_config`` repaired where kreg repairs it), so a
    model loaded here and saved again keeps what the first save kept.
    """
    from kreg.kerasext.serialization import make_serializable
    from kreg.registry import build

    try:
        build.factory(entry)
    except Exception:  # refused or broken: Keras's own error will say what went wrong
        pass
    return make_serializable(build.load(entry), entry.plugin)


CATALOG = Catalog()
"""The catalogue of this process."""

get = CATALOG.get
lookup = CATALOG.lookup
entries = CATALOG.entries
plugins = CATALOG.plugins
prefer = CATALOG.prefer
reload = CATALOG.reload


def watch_keras() -> None:
    """Call :meth:`Catalog.keras_ready` once Keras is imported (now, if it already is).

    ``kreg/__init__`` calls it last: with Keras imported first, ``keras_ready`` loads the
    plugins at once, and their ``import kreg; kreg.hookimpl`` needs the finished package.

    Example:
        >>> import kreg  # which has called it
        >>> callable(watch_keras)
        True
    """
    from kreg.kerasext.backend import TENSORFLOW, configured_backend

    # On TensorFlow, Keras is imported half-way through TensorFlow's own start: wait for
    # both. On JAX or PyTorch TensorFlow may never be imported (or not be installed).
    also = ("tensorflow",) if configured_backend() == TENSORFLOW else ()
    when_imported("keras", also, CATALOG.keras_ready)
