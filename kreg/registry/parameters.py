"""Which arguments a component accepts: the one answer for resolution, errors, forms and docs."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

REQUIRED: Any = inspect.Parameter.empty
"""The ``default`` of a parameter that has none."""


@dataclass(frozen=True)
class Parameter:
    """One keyword argument of a component.

    ``own`` is true when the component's own ``__init__`` (or function) declares it;
    false when it is reached through ``**kwargs`` passed on to a base class (Keras
    optimizers forward ``clipnorm`` ... to ``Optimizer.__init__``).

    Example:
        >>> Parameter("delta", 1.0).required
        False
    """

    name: str
    default: Any = REQUIRED
    own: bool = True

    @property
    def required(self) -> bool:
        """Whether the argument has no default."""
        return self.default is REQUIRED


@dataclass(frozen=True)
class Parameters:
    """The arguments of one component, in declaration order, its own first.

    Example:
        >>> import keras
        >>> params = parameters_of(keras.metrics.PrecisionAtRecall)
        >>> params.required, params.open_ended, "thresholds" in params
        (['recall'], False, False)
    """

    items: tuple[Parameter, ...]
    open_ended: bool
    """Any keyword is accepted (``**kwargs`` that no base class narrows)."""
    signature: str
    """The factory's signature as Python writes it, e.g. ``(delta=1.0, reduction=...)``."""

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.items)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.items)

    @property
    def names(self) -> list[str]:
        """Every accepted argument name."""
        return [p.name for p in self.items]

    @property
    def required(self) -> list[str]:
        """The component's own arguments without a default."""
        return [p.name for p in self.items if p.own and p.required]

    @property
    def own(self) -> list[Parameter]:
        """The arguments the component declares itself (a form's fields)."""
        return [p for p in self.items if p.own]


def _signature_text(factory: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(factory))
    except (TypeError, ValueError):
        return "(...)"


def parameters_of(factory: Callable[..., Any]) -> Parameters:
    """The :class:`Parameters` of a class or function that builds a component.

    Classes whose ``__init__`` passes ``**kwargs`` upwards are followed along
    their bases, as Keras optimizers forward to ``Optimizer.__init__``.

    Example:
        >>> import keras
        >>> params = parameters_of(keras.optimizers.SGD)
        >>> params.names[:3], "clipnorm" in params
        (['learning_rate', 'momentum', 'nesterov'], True)
    """
    if inspect.isclass(factory):
        inits = [
            c.__dict__["__init__"] for c in inspect.getmro(factory) if "__init__" in c.__dict__
        ]
    else:
        inits = [factory]
    found: dict[str, Parameter] = {}
    open_ended = True
    for position, init in enumerate(inits):
        if init is object.__init__:
            open_ended = False
            break
        try:
            declared = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            break
        if inspect.isclass(factory) and declared:
            declared = declared[1:]  # self
        for parameter in declared:
            if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                continue
            if parameter.name not in found:
                found[parameter.name] = Parameter(parameter.name, parameter.default, position == 0)
        if not any(p.kind == p.VAR_KEYWORD for p in declared):
            open_ended = False
            break
    return Parameters(tuple(found.values()), open_ended, _signature_text(factory))
