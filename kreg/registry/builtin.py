"""The built-in plugin: Keras 3's own catalogue, read from the installed Keras.

It is registered through the same four hooks as any third-party plugin. The
catalogue is read from Keras's generated public API files (``keras/losses/
__init__.py`` ...) and alias tables without importing Keras, so ``kreg list``
stays fast and TensorFlow is imported only when a component is first built.

What is left out, and why:
- abstract bases and wrappers (``Loss``, ``Metric``, ``Optimizer``,
  ``LearningRateSchedule``, ``LossFunctionWrapper``, ``MeanMetricWrapper``,
  ``LossScaleOptimizer``, ``MultiOptimizer``, ``OptimizerMap``);
- ``Mean`` and ``Sum``, which aggregate arbitrary values rather than
  ``(y_true, y_pred)`` and break when passed to ``compile(metrics=...)``;
- loss functions that ``keras.metrics`` merely re-exports without a metric
  class (``huber``, the focal cross-entropies): Keras 3's own
  ``keras.metrics.get`` rejects them, and ``kreg.get("huber")`` must keep
  meaning the loss.

What is replaced: ``dice`` and ``tversky`` are kreg subclasses of Keras's
``Dice``/``Tversky`` that give one loss per sample when ``axis`` is None
(Keras then reduces over the whole batch to one number, so per-sample
losses and ``sample_weight`` cannot work); with an explicit ``axis`` they are
Keras's classes unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kreg.contracts.examples import BuiltinExample
from kreg.errors import RegistrationError
from kreg.names import canonical_name, normalize
from kreg.registry.builtin_expects import BUILTIN_EXPECTS, METRICS
from kreg.registry.hookspecs import hookimpl
from kreg.registry.sources import imported_names, package_root, string_aliases
from kreg.versions import installed_version

_API_FILES = {
    "loss": "losses/__init__.py",
    "metric": "metrics/__init__.py",
    "optimizer": "optimizers/__init__.py",
    "schedule": "optimizers/schedules/__init__.py",
}
_ALIAS_FILES = {"loss": "src/losses/__init__.py", "metric": "src/metrics/__init__.py"}
_EXCLUDED = {
    "loss": {"Loss", "LossFunctionWrapper", "Reduction"},
    "metric": {"Metric", "MeanMetricWrapper", "Mean", "Sum", "Accuracy"},
    "optimizer": {"Optimizer", "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap"},
    "schedule": {"LearningRateSchedule"},
}
_NOT_COMPONENTS = {"get", "serialize", "deserialize"}
_PER_SAMPLE_LOSSES = {
    "dice": "kreg.kerasext.losses:Dice",
    "tversky": "kreg.kerasext.losses:Tversky",
}

# Keras 2 / tf.keras spellings that Keras 3 rejects, per kind: old -> canonical.
LEGACY_NAMES: dict[str, dict[str, str]] = {
    "loss": {
        "logcosh": "log_cosh",
        "cosine": "cosine_similarity",
        "cosine_proximity": "cosine_similarity",
        "kullback_leibler_divergence": "kl_divergence",
    },
    "metric": {
        "logcosh": "log_cosh_error",
        "cosine": "cosine_similarity",
        "cosine_proximity": "cosine_similarity",
        "kullback_leibler_divergence": "kl_divergence",
        "rmse": "root_mean_squared_error",
    },
}
# Spellings Keras 3 accepts for one kind that users also use for the other.
EXTRA_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "metric": {"kl_divergence": ("kld", "KLD")},
}
_LOSS_TAGS = {
    "probabilistic": (
        "binary_crossentropy binary_focal_crossentropy categorical_crossentropy "
        "categorical_focal_crossentropy sparse_categorical_crossentropy poisson "
        "kl_divergence categorical_generalized_cross_entropy"
    ),
    "regression": (
        "mean_squared_error mean_absolute_error mean_absolute_percentage_error "
        "mean_squared_logarithmic_error cosine_similarity huber log_cosh"
    ),
    "hinge": "hinge squared_hinge categorical_hinge",
    "segmentation": "dice tversky",
    "similarity": "circle",
    # Circle loss compares each sample with the others in its batch.
    "batch-dependent": "circle",
    "sequence": "ctc",
}


def catalogue(kind: str) -> list[dict[str, Any]]:
    """Registration arguments for every public Keras component of ``kind``.

    Example:
        >>> huber = [c for c in catalogue("loss") if c["name"] == "huber"][0]
        >>> huber["obj"], huber["aliases"]
        ('keras.src.losses.losses:Huber', ['Huber'])
    """
    root = package_root("keras")
    if root is None:
        return []
    api_file = root / _API_FILES[kind]  # Keras 3.10+; 3.0-3.9 (api/...) are refused at import
    public = [
        (module, name, as_name)
        for module, name, as_name in imported_names(api_file)
        if module.startswith("keras.src.")
        and as_name not in _NOT_COMPONENTS
        and as_name not in _EXCLUDED[kind]
    ]
    if not public:
        raise RegistrationError(
            f"kreg cannot read Keras {installed_version('keras') or '(unknown version)'}'s "
            f"{kind} catalogue: {api_file} is missing or names no public {kind} (a layout "
            "kreg does not know). Report it to kreg with your Keras version; meanwhile use "
            "Keras objects directly, or a Keras version kreg supports."
        )
    classes = [(m, n, a) for m, n, a in public if a[:1].isupper()]
    functions = [(m, n, a) for m, n, a in public if not a[:1].isupper()]
    found: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    for module, name, as_name in classes:
        registration: dict[str, Any] = {
            "obj": f"{module}:{name}",
            "name": canonical_name(kind, as_name),
            "aliases": [as_name],
            "tags": _tags(kind, module, canonical_name(kind, as_name)),
        }
        found.append(registration)
        by_key[normalize(as_name)] = registration
    for module, name, as_name in functions:
        paired = by_key.get(normalize(as_name)) or by_key.get(normalize(as_name) + "error")
        if paired is not None:
            paired["aliases"].append(as_name)
            by_key[normalize(as_name)] = paired
        elif kind == "loss":
            function = {"obj": f"{module}:{name}", "name": as_name, "aliases": []}
            found.append(function)
            by_key[normalize(as_name)] = function
    if kind in _ALIAS_FILES:
        for alias, target in string_aliases(root / _ALIAS_FILES[kind], "ALL_OBJECTS_DICT"):
            aliased = by_key.get(normalize(target))
            if aliased is not None and normalize(alias) not in by_key:
                aliased["aliases"].append(alias)
    by_name = {r["name"]: r for r in found}
    for canonical, extra in EXTRA_ALIASES.get(kind, {}).items():
        if canonical in by_name:
            by_name[canonical]["aliases"].extend(extra)
    for old, canonical in LEGACY_NAMES.get(kind, {}).items():
        if canonical in by_name:
            by_name[canonical].setdefault("legacy_aliases", []).append(old)
    for registration in found:
        registration["aliases"] = _without_duplicates(registration)
        if kind == "loss" and registration["name"] in _PER_SAMPLE_LOSSES:
            registration["obj"] = _PER_SAMPLE_LOSSES[registration["name"]]
    return found


def _without_duplicates(registration: dict[str, Any]) -> list[str]:
    seen = {normalize(registration["name"])}
    kept = []
    for alias in registration["aliases"]:
        if alias != registration["name"] and (alias not in kept):
            if normalize(alias) not in seen or alias[:1].isupper() or alias.isupper():
                kept.append(alias)
            seen.add(normalize(alias))
    return kept


def _tags(kind: str, module: str, name: str) -> list[str]:
    if kind == "metric":
        return [module.rsplit(".", 1)[-1].removesuffix("_metrics").replace("_", "-")]
    if kind == "loss":
        return [tag for tag, names in _LOSS_TAGS.items() if name in names.split()]
    return []


def _register_all(register: Callable[..., None], kind: str) -> None:
    for registration in catalogue(kind):
        registration = dict(registration)
        example = BuiltinExample(kind, registration["name"])
        expects = BUILTIN_EXPECTS.get(kind, {}).get(registration["name"])
        if expects is not None:
            registration["expects"] = expects
        register(registration.pop("obj"), example=example, **registration)


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    """Every public ``keras.losses`` class, its function spellings and Keras 2 names."""
    _register_all(register, "loss")


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    """Every public ``keras.metrics`` class, plus shape-aware ``accuracy``/``acc``.

    ``accuracy`` and ``acc`` keep ``compile(metrics=["accuracy"])``'s meaning
    (binary, categorical or sparse accuracy chosen from the data); Keras's
    exact-match ``Accuracy`` class stays reachable as ``exact_accuracy``.
    """
    register(
        "kreg.kerasext.accuracy:AutoAccuracy",
        "accuracy",
        aliases=["acc", "Accuracy", "ACC"],
        tags=["accuracy"],
        example=BuiltinExample("metric", "accuracy"),
        expects=METRICS["accuracy"],
    )
    register(
        "keras.src.metrics.accuracy_metrics:Accuracy",
        "exact_accuracy",
        aliases=["ExactAccuracy"],
        tags=["accuracy"],
        example=BuiltinExample("metric", "exact_accuracy"),
        expects=METRICS["exact_accuracy"],
    )
    _register_all(register, "metric")


@hookimpl
def register_optimizers(register: Callable[..., None]) -> None:
    """Every public ``keras.optimizers`` optimizer (wrappers and bases left out)."""
    _register_all(register, "optimizer")


@hookimpl
def register_schedules(register: Callable[..., None]) -> None:
    """Every public ``keras.optimizers.schedules`` learning-rate schedule."""
    _register_all(register, "schedule")
