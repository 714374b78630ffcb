"""Errors a person can act on: each names the thing, the cause and the fix."""

from __future__ import annotations

__all__ = [
    "AmbiguousComponentError",
    "CellError",
    "ComponentLoadError",
    "ConfigError",
    "ContractError",
    "DistributedSetupError",
    "ExportError",
    "KregError",
    "RegistrationError",
    "SettingError",
    "TrainingFault",
    "TrainingSetupError",
    "UnknownComponentError",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.contracts.report import Report
    from kreg.training.run import Run


class KregError(Exception):
    """Base class of every error kreg raises on purpose.

    Errors keep their message and attributes through pickling (so they cross
    process boundaries, e.g. from ``kreg check --jobs`` workers).
    """

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild, (type(self), self.args, dict(self.__dict__))


class UnknownComponentError(KregError, KeyError):
    """No component is registered under the name asked for.

    ``suggestions`` holds the closest registered names, best first.

    Example:
        >>> import kreg
        >>> try:
        ...     kreg.get("Possion")
        ... except kreg.UnknownComponentError as error:
        ...     error.suggestions[0]
        'poisson'
    """

    def __init__(self, name: str, kind: str | None, suggestions: list[str]) -> None:
        self.name = name
        self.kind = kind
        self.suggestions = suggestions
        what = f"{kind} " if kind else "component "
        message = f"No {what}named {name!r} is registered."
        if suggestions:
            quoted = ", ".join(repr(s) for s in suggestions)
            message += f" Did you mean {quoted}?"
        message += " Run `kreg list` to see every registered name."
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class AmbiguousComponentError(KregError, LookupError):
    """A name exists in several kinds (``mse`` is a loss and a metric).

    Example:
        >>> import kreg
        >>> try:
        ...     kreg.get("mse")
        ... except kreg.AmbiguousComponentError as error:
        ...     error.kinds
        ['loss', 'metric']
    """

    def __init__(self, name: str, kinds: list[str]) -> None:
        self.name = name
        self.kinds = kinds
        options = " or ".join(f"kreg.get({name!r}, kind={k!r})" for k in kinds)
        super().__init__(
            f"{name!r} names a {' and a '.join(kinds)}; say which one you mean: {options}."
        )


class ConfigError(KregError, TypeError, ValueError):
    """A component was given an unknown, missing or invalid argument.

    It is a ``TypeError`` (like Python's own unknown-keyword error) and a
    ``ValueError`` (like Keras's invalid-value errors), so existing handlers of
    either keep working.

    Example:
        >>> import kreg
        >>> try:
        ...     kreg.get("huber", resuction="sum")
        ... except kreg.ConfigError as error:
        ...     error.argument, error.suggestion
        ('resuction', 'reduction')
    """

    def __init__(
        self,
        message: str,
        *,
        component: str,
        argument: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.component = component
        self.argument = argument
        self.suggestion = suggestion
        super().__init__(message)


class UnsupportedKerasError(KregError, ImportError):
    """The Keras on the path is older than kreg supports (``import kreg`` raises it).

    Example:
        >>> issubclass(UnsupportedKerasError, ImportError)
        True
    """


class RegistrationError(KregError, ValueError):
    """A plugin made a ``register(...)`` call that kreg cannot accept.

    Example:
        >>> from kreg.registry.registration import registrar
        >>> registrar("loss", "my_plugin", None, staged=[])(42)
        Traceback (most recent call last):
        ...
        kreg.errors.RegistrationError: ...
    """


class ComponentLoadError(KregError, ImportError):
    """The code behind a registered name could not be imported.

    Example:
        >>> import kreg
        >>> kreg.ComponentLoadError("plugin 'x' could not import 'x.mod:Loss'")
        ComponentLoadError("plugin 'x' could not import 'x.mod:Loss'")
    """


class ContractError(KregError, TypeError):
    """A component does not follow its Keras contract; ``report`` holds the checks.

    Example:
        >>> error = ContractError("loss 'acme:bad' returns a scalar")
        >>> isinstance(error, TypeError), error.report
        (True, None)
    """

    def __init__(self, message: str, report: Report | None = None) -> None:
        super().__init__(message)
        self.report = report


class CellError(KregError, ValueError):
    """A ``%%kcompile`` cell that kreg refuses, with the line and column to fix.

    Example:
        >>> error = CellError("unknown key 'epoch'", 3, 1)
        >>> str(error), error.line
        ("line 3, column 1: unknown key 'epoch'", 3)
    """

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column


class SettingError(KregError, ValueError):
    """A ``KREG_*`` environment variable holds a value kreg cannot use.

    Example:
        >>> SettingError("KREG_SAFETY_COPY_GB must be a number").args[0]
        'KREG_SAFETY_COPY_GB must be a number'
    """


class TrainingSetupError(KregError):
    """The run cannot start as asked (no such device or strategy; Keras refused the compile).

    Example:
        >>> str(TrainingSetupError("--strategy tpu: no TPU is visible"))
        '--strategy tpu: no TPU is visible'
    """


class PreflightError(KregError):
    """Preflight found errors in the model, the data and the components together.

    The message lists each finding and its fix; ``findings`` holds them
    (a :class:`kreg.preflight_checks.Preflight`). Nothing was touched.

    Example:
        >>> str(PreflightError("preflight: 1 error, 0 warnings"))
        'preflight: 1 error, 0 warnings'
    """

    def __init__(self, message: str, findings: object = None) -> None:
        super().__init__(message)
        self.findings = findings


class TrainingFault(KregError):
    """Training stopped on an error: a callback raised, memory ran out, or a step failed.

    The message says where (epoch and step), the cause, which weights the model
    kept and what to try. ``run`` is the partial :class:`~kreg.training.run.Run`
    (its ``error`` is the original exception, with its traceback).

    Example:
        >>> fault = TrainingFault("out of memory on GPU:0 in step 3 of epoch 1: ...")
        >>> fault.run is None, str(fault).startswith("out of memory")
        (True, True)
    """

    def __init__(self, message: str, run: Run | None = None) -> None:
        super().__init__(message)
        self.run = run


class ExportError(KregError):
    """A run cannot be exported, or an export cannot be loaded here (what, why, and the fix).

    Example:
        >>> isinstance(ExportError("nothing to export"), KregError)
        True
    """


class DistributedSetupError(TrainingSetupError):
    """The cluster (``TF_CONFIG``, workers, devices) cannot be set up (what, why, the fix).

    Example:
        >>> isinstance(DistributedSetupError("TF_CONFIG is not valid"), TrainingSetupError)
        True
    """


def missing_dependency(error: BaseException) -> str | None:
    """The fix for an error caused by a module that is not installed, or None for others.

    Follows ``__cause__``/``__context__``, as a library often re-raises an import error.

    Example:
        >>> missing_dependency(ModuleNotFoundError("No module named 'rouge_score'",
        ...                                        name="rouge_score"))
        "it needs the module 'rouge_score', which is not installed: pip install rouge-score"
        >>> missing_dependency(ImportError("needs `rouge_score`: pip install rouge-score"))
        'it needs a package that is not installed: needs `rouge_score`: pip install rouge-score'
        >>> missing_dependency(ValueError("bad value")) is None
        True
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ModuleNotFoundError) and current.name:
            top = current.name.split(".")[0]
            return (
                f"it needs the module {top!r}, which is not installed: "
                f"pip install {top.replace('_', '-')}"
            )
        if isinstance(current, ImportError) and "install" in str(current):
            return f"it needs a package that is not installed: {current}"
        current = current.__cause__ or current.__context__
    return None


def _rebuild(cls: type[KregError], args: tuple[object, ...], state: dict[str, object]) -> KregError:
    """Unpickle a :class:`KregError` without calling its ``__init__``."""
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
