"""Fuzzing name resolution and component arguments: only kreg's documented errors escape.

Arbitrary strings (and non-strings) go to ``kreg.get``, ``kreg.lookup``,
``kreg.entries``, ``kreg.prefer`` and the registry's suggestions; arbitrary
keyword arguments (names and values: ints, floats with nan/inf, strings,
None, lists, nested dicts) go to a sample of real registry entries. Every call
returns a real object or raises a :class:`kreg.KregError` subclass.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kreg
from kreg.registry.catalog import CATALOG
from kreg.registry.entry import Entry
from tests import reliability
from tests.reliability import fuzz_settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras 2 spellings

AREA = "fuzz: name resolution"
SLOW_CALL_SECONDS = 2.0  # a hang guard, not a benchmark


@pytest.fixture(scope="module", autouse=True)
def fresh_registry(keras: Any) -> Any:
    """Start from, and leave, the default registry (kreg.prefer pins change it)."""
    kreg.reload()
    kreg.get("huber")
    yield
    kreg.reload()


def _names() -> list[str]:
    names = []
    for entry in kreg.entries():
        names += [entry.name, entry.qualified_name, *entry.aliases, *entry.legacy_aliases]
    return sorted(set(names))


KNOWN = _names()
KINDS = ["loss", "metric", "optimizer", "schedule", "losses", "metrics", "lr_schedule"]


@st.composite
def near_names(draw: Any) -> str:
    """Registry names, respelled: case, separators, typos, prefixes, plugin parts."""
    name = draw(st.sampled_from(KNOWN))
    edit = draw(st.sampled_from(["same", "upper", "title", "dash", "typo", "cut", "plugin", "pad"]))
    if edit == "upper":
        return name.upper()
    if edit == "title":
        return name.title()
    if edit == "dash":
        return name.replace("_", draw(st.sampled_from(["-", " ", "", "__"])))
    if edit == "typo" and len(name) > 2:
        at = draw(st.integers(0, len(name) - 2))
        return name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    if edit == "cut":
        return name[: draw(st.integers(0, len(name)))]
    if edit == "plugin":
        plugin = draw(st.sampled_from(["keras", "kears", "contrib", "", "acme", "a:b"]))
        return f"{plugin}:{name.rpartition(':')[2]}"
    if edit == "pad":
        return draw(st.sampled_from([" ", "\t", "\0", "*", "?", "[", "é"])) + name
    return name


names = st.one_of(
    near_names(),
    st.text(max_size=40),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),
    st.sampled_from(["", ":", "::", "*", "[", "[!]", "keras:", ":huber", "huber:keras"]),
    st.builds(
        lambda unit, n: unit * n, st.sampled_from(["a", "mse", "é_", "*a"]), st.integers(1, 20_000)
    ),
)
kinds = st.one_of(
    st.none(),
    st.sampled_from(KINDS),
    st.text(max_size=10),
    st.integers(),
    st.lists(st.integers(), max_size=2),
)


def _documented(call: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return call(*args, **kwargs)
    except kreg.KregError:
        return None
    finally:
        elapsed = time.perf_counter() - started
        assert elapsed < SLOW_CALL_SECONDS, f"{elapsed:.2f} s for {call.__name__}{args[:1]!r}"


def test_arbitrary_names_raise_only_documented_errors():
    tried = [0]

    @fuzz_settings(300)
    @given(names, kinds)
    def run(name: str, kind: Any) -> None:
        tried[0] += 1
        with reliability.case(AREA):
            entry = _documented(kreg.lookup, name, kind)
            assert entry is None or isinstance(entry, Entry)
            built = _documented(kreg.get, name, kind)
            if entry is not None and built is not None:
                assert not isinstance(built, (str, Entry)), built
            found = _documented(kreg.entries, kind if kind in KINDS else None, name)
            assert found is None or all(isinstance(e, Entry) for e in found)
            suggestions = CATALOG.index().suggestions(name)
            assert all(isinstance(s, str) for s in suggestions)
            _documented(kreg.prefer, name)

    run()
    assert tried[0] >= 250


@pytest.mark.parametrize(
    "name",
    [42, None, 1.5, ["huber"], ("huber",), {"name": "huber"}, b"huber", object()],
    ids=lambda n: type(n).__name__,
)
def test_objects_that_are_not_names(name):
    with reliability.case(AREA):
        assert kreg.get(name) is name, "objects that are not strings come back unchanged"
        with pytest.raises(kreg.ConfigError, match="Expected a component name"):
            kreg.lookup(name)


@pytest.mark.parametrize("kind", ["los", "", 3, ["loss"], {"kind": 1}, b"loss"], ids=repr)
def test_a_bad_kind_is_a_config_error_naming_the_kinds(kind):
    with reliability.case(AREA):
        for call in (kreg.get, kreg.lookup):
            with pytest.raises(kreg.ConfigError, match="Expected one of") as caught:
                call("huber", kind)
            assert isinstance(caught.value, ValueError), "ValueError handlers keep working"
        with pytest.raises(kreg.ConfigError):
            kreg.entries(kind)


# -- arguments ------------------------------------------------------------------------------

SAMPLE = [  # (name, kind)
    ("keras:huber", "loss"),
    ("keras:mean_squared_error", "loss"),
    ("keras:mean_squared_error", "metric"),
    ("keras:binary_crossentropy", "loss"),
    ("keras:categorical_hinge", "loss"),
    ("keras:dice", "loss"),
    ("keras:mean_absolute_error", "metric"),
    ("keras:precision", "metric"),
    ("keras:r2_score", "metric"),
    ("keras:adam", "optimizer"),
    ("keras:sgd", "optimizer"),
    ("keras:rmsprop", "optimizer"),
    ("keras:exponential_decay", "schedule"),
    ("keras:piecewise_constant_decay", "schedule"),
    ("keras:cosine_decay", "schedule"),
]
BASES = {
    "loss": ("losses", "Loss"),
    "metric": ("metrics", "Metric"),
    "optimizer": ("optimizers", "Optimizer"),
    "schedule": ("optimizers.schedules", "LearningRateSchedule"),
}
ARGUMENTS = sorted(
    {
        "delta",
        "reduction",
        "name",
        "dtype",
        "from_logits",
        "label_smoothing",
        "axis",
        "thresholds",
        "top_k",
        "class_id",
        "class_aggregation",
        "learning_rate",
        "lr",
        "decay",
        "momentum",
        "nesterov",
        "beta_1",
        "epsilon",
        "weight_decay",
        "clipnorm",
        "clipvalue",
        "global_clipnorm",
        "use_ema",
        "initial_learning_rate",
        "decay_steps",
        "decay_rate",
        "staircase",
        "boundaries",
        "values",
        "alpha",
    }
)
scalars = st.one_of(
    st.integers(),  # unbounded: Python ints Keras cannot hold too
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.none(),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=6,
)
argument_names = st.one_of(st.sampled_from(ARGUMENTS), st.text(max_size=15))
configs = st.one_of(
    st.dictionaries(argument_names, values, max_size=4),
    st.dictionaries(  # plausible: real argument names, ordinary values
        st.sampled_from(ARGUMENTS),
        st.one_of(st.floats(0, 1), st.integers(1, 100), st.booleans()),
        max_size=2,
    ),
    st.just({}),
)


def _is_component(obj: Any, kind: str, keras: Any) -> bool:
    module_path, base = BASES[kind]
    module = keras
    for part in module_path.split("."):
        module = getattr(module, part)
    return isinstance(obj, getattr(module, base))


def test_arbitrary_arguments_raise_only_config_errors(keras):
    outcomes = {"built": 0, "refused": 0}

    @fuzz_settings(400)
    @given(st.sampled_from(SAMPLE), configs)
    def run(sample: tuple[str, str], config: dict[str, Any]) -> None:
        name, kind = sample
        with reliability.case(AREA):
            config.pop("kind", None)  # get()'s own argument, tested above
            built = _documented(kreg.get, name, kind, **config)
            if built is None:
                outcomes["refused"] += 1
                return
            outcomes["built"] += 1
            assert _is_component(built, kind, keras), (name, config, built)

    run()
    assert outcomes["built"] >= 20 and outcomes["refused"] >= 20, outcomes


@pytest.mark.parametrize(
    ("name", "config", "argument"),
    [
        ("huber", {"reduction": 10**5000}, None),  # an unprintable int (over 4,300 digits)
        ("sgd", {"learning_rate": "fast"}, "learning_rate"),
        ("adam", {"learning_rate": [1]}, "learning_rate"),
        ("huber", {"resuction": "sum"}, "resuction"),
        ("exponential_decay", {"initial_learning_rate": math.nan}, "decay_steps"),
        ("precision", {"thresholds": "x"}, None),
    ],
    ids=["huge int", "string rate", "list rate", "typo", "missing", "thresholds"],
)
def test_arguments_keras_rejects_in_its_own_way_are_config_errors(name, config, argument):
    with reliability.case(AREA):
        with pytest.raises(kreg.ConfigError) as caught:
            kreg.get(name, **config)
        if argument is not None:
            assert caught.value.argument == argument
        assert name in str(caught.value)


def test_regression_a_long_unknown_name_is_answered_quickly():
    with reliability.case(AREA):
        started = time.perf_counter()
        with pytest.raises(kreg.UnknownComponentError):
            kreg.get("x" * 50_000)
        assert time.perf_counter() - started < 0.5
