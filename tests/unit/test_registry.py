"""The registry's pure-Python parts: entries, registration, the index, settings, parameters.

Synthetic entries with lazy ``"module:attr"`` targets that never get imported; no test
here imports TensorFlow or Keras (``tests/unit/conftest.py`` enforces it).
"""

from __future__ import annotations

import pytest

from kreg.errors import (
    AmbiguousComponentError,
    ConfigError,
    RegistrationError,
    SettingError,
    UnknownComponentError,
)
from kreg.registry.catalog import Catalog
from kreg.registry.entry import Entry
from kreg.registry.index import Index
from kreg.registry.parameters import parameters_of
from kreg.registry.registration import registrar
from kreg.settings import allowed_plugins, disabled_plugins, preferred, safety_copy_limit_gb


def entries_of(plugin: str, kind: str, *calls: tuple[str, dict]) -> list[Entry]:
    staged: list[Entry] = []
    register = registrar(kind, plugin, "1.0", staged)
    for target, options in calls:
        register(target, **options)
    return staged


@pytest.fixture
def index() -> Index:
    built = Index()
    built.add_plugin_entries(
        "alpha",
        entries_of(
            "alpha",
            "loss",
            ("alpha.losses:FocalLoss", {"aliases": ["fl"]}),
            ("alpha.losses:Pinball", {"legacy_aliases": ["quantile_loss"]}),
            ("alpha.losses:Shared", {}),
        )
        + entries_of("alpha", "metric", ("alpha.metrics:Shared", {})),
    )
    built.add_plugin_entries("beta", entries_of("beta", "loss", ("beta.losses:FocalLoss", {})))
    return built


def test_spellings_resolve_whatever_the_case_and_separators(index):
    for spelling in ("focal_loss", "FocalLoss", "FOCAL-LOSS", "focal loss", "fl", "alpha:fl"):
        assert index.resolve(spelling, "loss").entry.qualified_name == "alpha:focal_loss"


def test_the_first_plugin_wins_and_the_other_stays_reachable(index):
    assert index.resolve("focal_loss").entry.plugin == "alpha"
    assert index.resolve("beta:focal_loss").entry.plugin == "beta"
    (conflict,) = index.conflicts()
    assert conflict.winner.plugin == "alpha" and [e.plugin for e in conflict.others] == ["beta"]


def test_prefer_pins_one_name_or_a_whole_plugin_and_clears_the_cache(index):
    assert index.resolve("focal_loss").entry.plugin == "alpha"  # now cached
    index.prefer("beta:focal_loss")
    assert index.resolve("focal_loss").entry.plugin == "beta"
    fresh = Index()
    fresh.add_plugin_entries("alpha", entries_of("alpha", "loss", ("a.m:FocalLoss", {})))
    fresh.add_plugin_entries("beta", entries_of("beta", "loss", ("b.m:FocalLoss", {})))
    fresh.prefer("Beta")
    assert fresh.resolve("focal_loss").entry.plugin == "beta"
    with pytest.raises(UnknownComponentError, match="gamma"):
        fresh.prefer("gamma")


def test_a_name_in_two_kinds_needs_a_kind(index):
    with pytest.raises(AmbiguousComponentError) as caught:
        index.resolve("shared")
    assert caught.value.kinds == ["loss", "metric"]
    assert index.resolve("shared", kind="metrics").entry.kind == "metric"


def test_legacy_aliases_resolve_as_deprecated(index):
    candidate = index.resolve("quantile_loss")
    assert candidate.deprecated and candidate.entry.name == "pinball"


def test_unknown_names_get_ranked_suggestions_and_the_other_kind(index):
    with pytest.raises(UnknownComponentError) as caught:
        index.resolve("focall_los")
    assert caught.value.suggestions[0] == "focal_loss"
    with pytest.raises(UnknownComponentError, match="is a loss, not a optimizer"):
        index.resolve("pinball", kind="optimizer")
    assert index.suggestions("alpa:fl") == ["alpha:fl"]


def test_bad_names_and_kinds_are_config_errors(index):
    with pytest.raises(ConfigError, match="Expected a component name"):
        index.resolve(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Expected one of"):
        index.resolve("fl", kind="lost")
    with pytest.raises(ConfigError, match="pattern must be a string"):
        index.entries(pattern=3)  # type: ignore[arg-type]


def test_entries_filter_by_kind_and_pattern(index):
    assert [e.qualified_name for e in index.entries("metric")] == ["alpha:shared"]
    # patterns match every spelling, Keras 2 names included (pinball's quantile_loss)
    assert [e.name for e in index.entries("loss", "*LOSS")] == ["focal_loss"] * 2 + ["pinball"]


def test_entries_are_read_only_records():
    (entry,) = entries_of("alpha", "loss", ("alpha.losses:Huberish", {"tags": ["robust"]}))
    assert entry.qualified_name == "alpha:huberish" and not entry.is_builtin
    assert entry.spellings == ("huberish",) and entry.tags == ("robust",)
    for attribute in ("target", "name", "aliases"):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(entry, attribute, "x")
    assert not entry.is_loaded and entry.summary == ""  # read from source: no such module


@pytest.mark.parametrize(
    ("target", "options", "message"),
    [
        ("no_colon", {}, "must look like 'package.module:Name'"),
        (42, {}, "neither a class, a function"),
        ("m:Name", {"name": "a:b"}, "without ':'"),
        ("m:Name", {"aliases": [3]}, "aliases must be"),
        ("m:Name", {"example": 5}, "zero-argument callable"),
    ],
)
def test_bad_register_calls_are_refused(target, options, message):
    with pytest.raises(RegistrationError, match=message):
        entries_of("p", "loss", (target, options))


def test_the_same_name_twice_in_one_plugin_is_refused():
    with pytest.raises(RegistrationError, match="twice"):
        entries_of("p", "loss", ("m:One", {"name": "focal"}), ("m:Two", {"name": "Focal"}))


def test_parameters_follow_kwargs_up_the_bases():
    class Base:
        def __init__(self, clipnorm=None, name="base"):
            pass

    class Child(Base):
        def __init__(self, rate, momentum=0.0, **kwargs):
            super().__init__(**kwargs)

    params = parameters_of(Child)
    assert params.names == ["rate", "momentum", "clipnorm", "name"]
    assert params.required == ["rate"] and not params.open_ended
    assert [p.name for p in params.own] == ["rate", "momentum"]
    assert params.signature == "(rate, momentum=0.0, **kwargs)"

    def loose(y_true, y_pred, **kwargs):
        pass

    assert parameters_of(loose).open_ended


def test_settings_are_read_when_used(monkeypatch):
    monkeypatch.setenv("KREG_PLUGINS", "Acme, my_plugin")
    monkeypatch.setenv("KREG_DISABLE_PLUGINS", "")
    monkeypatch.setenv("KREG_PREFER", "acme:focal,  beta")
    assert allowed_plugins() == {"acme", "myplugin"} and disabled_plugins() == set()
    assert preferred() == ["acme:focal", "beta"]
    monkeypatch.setenv("KREG_SAFETY_COPY_GB", "0.5")
    assert safety_copy_limit_gb() == 0.5
    for bad in ("lots", "-1", "nan"):
        monkeypatch.setenv("KREG_SAFETY_COPY_GB", bad)
        with pytest.raises(SettingError, match="KREG_SAFETY_COPY_GB must be a number"):
            safety_copy_limit_gb()


def test_a_catalog_reads_the_keras_catalogue_without_importing_keras(monkeypatch):
    monkeypatch.setenv("KREG_PLUGINS", "")  # the built-ins only
    catalog = Catalog()
    assert catalog.lookup("Huber").qualified_name == "keras:huber"
    assert catalog.lookup("mse", "metric").name == "mean_squared_error"
    assert {p.name: p.status for p in catalog.plugins()}["keras"] == "ok"
    assert all(p.status == "disabled" for p in catalog.plugins() if p.name != "keras")
    assert len(catalog.entries("schedule")) >= 6
    assert not catalog.lookup("huber").is_loaded, "read from Keras's source files"


def test_each_catalog_is_its_own_and_reload_builds_a_new_index(monkeypatch):
    monkeypatch.setenv("KREG_PLUGINS", "")
    first, second = Catalog(), Catalog()
    old = first.index()
    assert old is not second.index()
    fresh = first.reload()
    assert fresh is not old and first.index() is fresh


def test_declared_defects_are_kept_and_checked():
    (entry,) = entries_of(
        "bridge", "loss", ("lib.losses:Pairwise", {"defects": {"weights": "needs (batch, list)"}})
    )
    assert entry.defects == (("weights", "needs (batch, list)"),)
    for bad in ({"weights": ""}, ["weights"], {3: "x"}):
        with pytest.raises(RegistrationError, match="defects= must be a dict"):
            entries_of("bridge", "loss", ("lib.losses:Pairwise", {"defects": bad}))


def test_a_variant_registered_first_leaves_the_plain_name_to_the_class():
    """register(Cls, "variant") then register(Cls): the variant's implicit alias (the class
    name) once made the plain registration clash with it, and the whole plugin failed."""
    variant, plain = entries_of(
        "lib",
        "metric",
        ("lib.metrics:BinaryAccuracyNoNaN", {"name": "binary_accuracy_no_nan_1d"}),
        ("lib.metrics:BinaryAccuracyNoNaN", {}),
    )
    assert (variant.name, variant.aliases) == ("binary_accuracy_no_nan_1d", ())
    assert plain.name == "binary_accuracy_no_nan"  # which "BinaryAccuracyNoNaN" also spells
    with pytest.raises(RegistrationError, match="twice"):  # a real clash still fails
        entries_of("lib", "metric", ("lib.m:A", {"name": "same"}), ("lib.m:B", {"name": "same"}))


def test_every_keras_loss_and_metric_declares_what_it_expects():
    """A new Keras loss or metric without a row in builtin_expects fails here (issue 15)."""
    from kreg.registry.builtin import catalogue
    from kreg.registry.builtin_expects import BUILTIN_EXPECTS
    from kreg.registry.sources import keras_version_on_path

    version = keras_version_on_path() or "0"
    newest = tuple(int(p) for p in version.split(".")[:2]) >= (3, 15)

    for kind in ("loss", "metric"):
        names = {registration["name"] for registration in catalogue(kind)}
        if kind == "metric":
            names |= {"accuracy", "exact_accuracy"}
        assert len(names) >= 15
        missing = sorted(names - set(BUILTIN_EXPECTS[kind]))
        assert not missing, f"Keras {kind}es without an expects= row in builtin_expects: {missing}"
        if newest:  # older Keras lacks some (Tversky before 3.3...): their rows stay
            stale = sorted(set(BUILTIN_EXPECTS[kind]) - names)
            assert not stale, f"rows for {kind}es this Keras does not have: {stale}"


def test_the_catalogue_carries_the_declarations_of_keras_and_contrib():
    import kreg

    declared = {e.qualified_name: e.expects for e in kreg.entries() if e.kind in ("loss", "metric")}
    assert declared["keras:sparse_categorical_crossentropy"].y_pred_for({"from_logits": 1}) == (
        "logits"
    )
    assert declared["keras:accuracy"].task == "classification"
    contrib = {k: v for k, v in declared.items() if k.startswith("contrib:")}
    assert len(contrib) == 4 and all(contrib.values()), contrib
    assert all(e.expects is None for e in kreg.entries() if e.kind in ("optimizer", "schedule"))


@pytest.mark.parametrize(
    ("kind", "expects", "message"),
    [
        ("loss", {"y_true": "labels"}, "y_true must be one of binary, class_ids"),
        ("loss", {"y_pred": "probs"}, "y_pred must be one of probabilities"),
        ("metric", {"task": "vision"}, "task must be one of classification"),
        ("loss", {"y_true": "real", "shape": 3}, "must be a dict with the keys"),
        ("loss", {"logits": "from logits"}, "logits must name a constructor argument"),
        ("loss", ["real"], "must be a dict"),
        ("optimizer", {"y_true": "real"}, "optimizers have none"),
    ],
)
def test_bad_expects_declarations_are_refused_with_the_vocabulary(kind, expects, message):
    with pytest.raises(RegistrationError, match=message):
        registrar(kind, "lib", None, [])("lib.m:Thing", expects=expects)


def test_a_plugin_declares_expects_as_a_dict():
    staged: list[Entry] = []
    registrar("loss", "lib", None, staged)(
        "lib.m:Pinball", expects={"y_true": "real", "y_pred": "real", "task": "regression"}
    )
    assert staged[0].expects.describe() == "y_true real, y_pred real, task regression"
