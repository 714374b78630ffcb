"""An entry: one registered component, as a read-only record.

What an entry knows is fixed when its plugin registers it. Importing and building
its target (and the caches that makes) belong to :mod:`kreg.registry.build`; the
methods here are the public way there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kreg.names import BUILTIN_PLUGIN
from kreg.registry import build

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.contracts.report import Report
    from kreg.registry.expects import Expects
    from kreg.registry.parameters import Parameters


@dataclass(eq=False)
class Entry:
    """One registered component: what it is called, what it is, who provides it.

    Entries are read-only: no plugin (or other code) can change what another
    component's name means.

    Example:
        >>> import kreg
        >>> entry = kreg.lookup("Huber")
        >>> entry.name, entry.kind, entry.plugin, entry.qualified_name
        ('huber', 'loss', 'keras', 'keras:huber')
        >>> entry.target = "evil:Huber"
        Traceback (most recent call last):
        ...
        AttributeError: kreg entries are read-only: ...
    """

    name: str
    kind: str
    target: Any  # a class, a function, or a lazy "module:attr" string
    plugin: str
    plugin_version: str | None = None
    aliases: tuple[str, ...] = ()
    legacy_aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    example: Callable[[], Any] | None = None
    defects: tuple[tuple[str, str], ...] = ()
    """Known defects its plugin declares, as ``(tag, one-line reason)``: ``kreg.get`` warns."""
    expects: Expects | None = None
    """What it expects of ``y_true``/``y_pred`` (losses, metrics), for :func:`kreg.preflight`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sealed", True)

    def __setattr__(self, name: str, value: object) -> None:
        self._refuse_change(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._refuse_change(name)
        object.__delattr__(self, name)

    def _refuse_change(self, name: str) -> None:
        if self.__dict__.get("_sealed"):
            raise AttributeError(
                f"kreg entries are read-only: {self.qualified_name}.{name} cannot be changed. "
                "Register your own component in a plugin hook and pin it with kreg.prefer() "
                "or KREG_PREFER instead."
            )

    @property
    def qualified_name(self) -> str:
        """``plugin:name``, which always reaches this entry, whatever else is installed."""
        return f"{self.plugin}:{self.name}"

    @property
    def is_builtin(self) -> bool:
        """Whether Keras's own catalogue provides it (the ``keras`` plugin).

        Example:
            >>> import kreg
            >>> kreg.lookup("huber").is_builtin
            True
        """
        return self.plugin == BUILTIN_PLUGIN

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every spelling that reaches this entry: its name, aliases and Keras 2 names.

        Example:
            >>> import kreg
            >>> kreg.lookup("kl_divergence", kind="loss").spellings
            ('kl_divergence', 'KLDivergence', 'kld', 'KLD', 'kullback_leibler_divergence')
        """
        return (self.name, *self.aliases, *self.legacy_aliases)

    @property
    def target_path(self) -> str:
        """Dotted import path of the target, e.g. ``keras.src.losses.losses.Huber``."""
        if isinstance(self.target, str):
            return self.target.replace(":", ".")
        named = getattr(self.target, "__qualname__", type(self.target).__qualname__)
        return f"{self.target.__module__}.{named}"

    @property
    def public_path(self) -> str:
        """Where users know the target from: ``keras.losses.Huber`` rather than ``keras.src...``."""
        path = self.target_path
        if path.startswith("keras.src."):
            modules, _, attribute = path.removeprefix("keras.src.").rpartition(".")
            return ".".join(["keras", *modules.split(".")[:-1], attribute])
        return path

    # -- what building it tells (see kreg.registry.build) --------------------------------

    @property
    def is_loaded(self) -> bool:
        """Whether the target has been imported already."""
        return build.is_loaded(self)

    @property
    def summary(self) -> str:
        """First line of the target's docstring, read without importing lazy targets."""
        return build.summary(self)

    @property
    def failure(self) -> str | None:
        """Why the last use of this entry failed to import or build it (without arguments).

        ``kreg plugins`` lists these for plugin entries.

        Example:
            >>> import kreg
            >>> kreg.lookup("huber").failure is None
            True
        """
        return build.failure(self)

    @property
    def rejection(self) -> str | None:
        """Why the structural contract refuses this entry; None if it passes or is not loaded.

        A rejected entry is never handed out: :func:`kreg.get` raises
        :class:`~kreg.errors.ContractError`, and another provider of the same
        name wins the plain name.
        """
        return build.rejection(self)

    def load(self) -> Any:
        """Import and return the class or function behind this entry.

        Raises:
            ComponentLoadError: the plugin's module or attribute cannot be imported.
        """
        return build.load(self)

    def structural_report(self) -> Report:
        """The structural contract checks of this entry (imports its target; cached).

        Example:
            >>> import kreg
            >>> kreg.lookup("huber").structural_report().ok
            True
        """
        return build.structural_report(self)

    def parameters(self) -> Parameters:
        """The arguments this component accepts: the one answer used everywhere.

        Example:
            >>> import kreg
            >>> params = kreg.lookup("huber").parameters()
            >>> params.names[:2], params.open_ended
            (['delta', 'reduction'], False)
        """
        return build.parameters(self)

    def create(self, config: dict[str, Any] | None = None) -> Any:
        """Build a ready-to-use instance (see :func:`kreg.get`).

        Raises only kreg's errors: whatever the component's own code raises
        while being built comes back as a :class:`~kreg.errors.ConfigError`
        naming the entry (and its plugin).

        Example:
            >>> import kreg
            >>> type(kreg.lookup("huber").create({"delta": 2.0})).__name__
            'Huber'
        """
        return build.create(self, config if config is not None else {})
