"""Build real installed-looking distributions (dist-info + entry_points.txt) in a folder."""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_distribution(root: Path, dist: str, plugin: str, module: str, code: str) -> None:
    """Write ``module.py`` and a ``dist-1.0.dist-info`` declaring entry point ``plugin``."""
    (root / f"{module}.py").write_text(textwrap.dedent(code))
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[kreg]\n{plugin} = {module}\n")


GOOD_PLUGIN = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("acme_losses:ScaledMAE", aliases=["smae"], tags=["regression"])

    @kreg.hookimpl
    def register_metrics(register):
        register("acme_losses:mean_pred")
"""

GOOD_PLUGIN_CODE = '''
    import keras
    from keras import ops


    class ScaledMAE(keras.losses.Loss):
        """Mean absolute error times a constant scale."""

        def __init__(
            self, scale=2.0, reduction="sum_over_batch_size", name="scaled_mae", dtype=None
        ):
            super().__init__(reduction=reduction, name=name, dtype=dtype)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * ops.mean(ops.abs(y_true - y_pred), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}


    def mean_pred(y_true, y_pred):
        """Mean of the predictions."""
        return ops.mean(y_pred, axis=-1)
'''

BROKEN_IMPORT = """
    import kreg
    import this_module_does_not_exist_anywhere
"""

RAISING_HOOK = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("raising_plugin:nothing")
        raise RuntimeError("boom inside register_losses")
"""

HUBER_THIEF = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("huber_thief_impl:Huber", name="huber")
"""

HUBER_THIEF_IMPL = '''
    import keras


    class Huber(keras.losses.Loss):
        """A different huber, from another plugin."""

        def call(self, y_true, y_pred):
            return keras.ops.mean(y_pred - y_true, axis=-1)
'''

BAD_REGISTER = """
    import kreg

    @kreg.hookimpl
    def register_metrics(register):
        register(42)
"""

UNKNOWN_HOOK = """
    import kreg

    @kreg.hookimpl
    def register_loss(register):
        pass
"""


SHAKY = """
    import kreg


    def wrong_signature(y_true):
        return y_true


    @kreg.hookimpl
    def register_losses(register):
        register("shaky_impl:NotALoss", name="scaled_mae")

    @kreg.hookimpl
    def register_metrics(register):
        register(wrong_signature, name="half_metric")
"""

SHAKY_IMPL = '''
    class NotALoss:
        """Looks like a loss (it has call()), but is no keras.losses.Loss and is not callable."""

        def call(self, y_true, y_pred):
            return 0.0
'''


EAGER = '''
    import keras  # imports Keras (and TensorFlow) while kreg is loading plugins

    import kreg


    class EagerLoss(keras.losses.Loss):
        """A loss class defined in the hook module itself."""

        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


    @kreg.hookimpl
    def register_losses(register):
        register(EagerLoss)
'''


# -- the plugin fault zoo (tests/test_fault_zoo.py) ------------------------------------------

ZOO_IMPL = '''
    import keras

    NOT_CALLABLE = 42


    def zoo_mae(y_true, y_pred):
        """Mean absolute error, from the zoo."""
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


    class ExplodingLoss(keras.losses.Loss):
        """A loss whose constructor raises."""

        def __init__(self, reduction="sum_over_batch_size", name="exploding_loss", dtype=None):
            raise RuntimeError("kaboom in ExplodingLoss.__init__")

        def call(self, y_true, y_pred):
            return y_pred
'''


def _raising_hook(hook: str, error: str) -> str:
    """A plugin whose ``hook`` raises ``error``, after its register_losses registered one loss."""
    first = (
        ""
        if hook == "register_losses"
        else (
            "@kreg.hookimpl\n"
            "    def register_losses(register):\n"
            f"        register('zoo_impl:zoo_mae', name='{hook}_partial')\n\n"
        )
    )
    return f"""
    import kreg

    {first}
    @kreg.hookimpl
    def {hook}(register):
        raise {error}("boom inside {hook}")
"""


LAZY_CONSTANT = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("zoo_impl:NOT_CALLABLE", name="constant_loss")
        register("zoo_impl:zoo_mae", name="zoo_mae")
"""

TWICE = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("zoo_impl:zoo_mae", name="twin")
        register("zoo_impl:zoo_mae", name="Twin")
"""

COPYCAT = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("zoo_impl:zoo_mae", name="scaled_mae")  # acme's name
"""

INIT_RAISER = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("zoo_impl:ExplodingLoss")
        register("zoo_impl:zoo_mae", name="calm_mae")
"""

VANDAL_IMPORT = """
    import kreg

    kreg.lookup("huber").target = "zoo_impl:ExplodingLoss"  # at import: swap the built-in
"""

VANDAL_HOOK = """
    import kreg
    import kreg.registry.catalog

    @kreg.hookimpl
    def register_losses(register):
        register("zoo_impl:zoo_mae", name="vandal_mae")
        # wipe every other plugin's entries
        kreg.registry.catalog.CATALOG.index().entries_list.clear()
"""

VANDAL_LATE = """
    import kreg

    @kreg.hookimpl
    def register_losses(register):
        register("zoo_vandal_impl:SneakyLoss", name="sneaky_loss")
"""

VANDAL_LATE_IMPL = """
    import kreg

    # Imported on first use, after loading: tries to take over another plugin's name.
    kreg.lookup("acme:scaled_mae").target = "zoo_impl:ExplodingLoss"
    SneakyLoss = None
"""

SLOW_IMPORT = """
    import time

    import kreg

    time.sleep(10)  # a plugin that does heavy work at import


    @kreg.hookimpl
    def register_losses(register):
        register("zoo_impl:zoo_mae", name="slow_mae")
"""
SLOW_PLUGIN = ("zoo_slow", ("zoo_slow_kreg", "zoo_slow_plugin", SLOW_IMPORT))
"""Not in ALL: a 10 s import would slow down every test that loads all plugins. The zoo
installs it in a site of its own, for one subprocess."""

# Distribution names use "_": importlib.metadata reads the name up to the first "-" of the
# dist-info folder, so "zoo-a-kreg" and "zoo-b-kreg" would both be "zoo" (and one would hide).
ZOO = {
    "zoo_raise_metrics": (
        "zoo_raise_metrics_kreg",
        "zoo_raise_metrics_plugin",
        _raising_hook("register_metrics", "ValueError"),
    ),
    "zoo_raise_optimizers": (
        "zoo_raise_optimizers_kreg",
        "zoo_raise_optimizers_plugin",
        _raising_hook("register_optimizers", "KeyError"),
    ),
    "zoo_raise_schedules": (
        "zoo_raise_schedules_kreg",
        "zoo_raise_schedules_plugin",
        _raising_hook("register_schedules", "SystemExit"),
    ),
    "zoo_lazy_constant": ("zoo_lazy_constant_kreg", "zoo_lazy_constant_plugin", LAZY_CONSTANT),
    "zoo_twice": ("zoo_twice_kreg", "zoo_twice_plugin", TWICE),
    "zoo_copycat": ("zoo_copycat_kreg", "zoo_copycat_plugin", COPYCAT),
    "zoo_init_raiser": ("zoo_init_raiser_kreg", "zoo_init_raiser_plugin", INIT_RAISER),
    "zoo_vandal_import": ("zoo_vandal_import_kreg", "zoo_vandal_import_plugin", VANDAL_IMPORT),
    "zoo_vandal_hook": ("zoo_vandal_hook_kreg", "zoo_vandal_hook_plugin", VANDAL_HOOK),
    "zoo_vandal_late": ("zoo_vandal_late_kreg", "zoo_vandal_late_plugin", VANDAL_LATE),
}


REALCASES = """
    from tests.realcases_registration import register_losses, register_metrics, register_optimizers
"""


ALL = {
    # plugin name: (distribution, module, code)
    "acme": ("acme-kreg", "acme_plugin", GOOD_PLUGIN),
    "broken_import": ("broken-kreg", "broken_import_plugin", BROKEN_IMPORT),
    "raising": ("raising-kreg", "raising_plugin", RAISING_HOOK),
    "huber_thief": ("thief-kreg", "huber_thief_plugin", HUBER_THIEF),
    "bad_register": ("bad-register-kreg", "bad_register_plugin", BAD_REGISTER),
    "unknown_hook": ("unknown-hook-kreg", "unknown_hook_plugin", UNKNOWN_HOOK),
    # Sorts before "acme", so its broken scaled_mae would win the name if it were not rejected.
    "aaa_shaky": ("shaky-kreg", "shaky_plugin", SHAKY),
    "eager": ("eager-kreg", "eager_plugin", EAGER),
    **ZOO,
    # Components written here that reproduce real libraries' cases: tests/realcases.
    "realcases": ("realcases-kreg", "realcases_plugin", REALCASES),
}
SUPPORT_MODULES = {
    "acme_losses": GOOD_PLUGIN_CODE,
    "huber_thief_impl": HUBER_THIEF_IMPL,
    "shaky_impl": SHAKY_IMPL,
    "zoo_impl": ZOO_IMPL,
    "zoo_vandal_impl": VANDAL_LATE_IMPL,
}


def build_site(root: Path) -> Path:
    """Install every fake plugin distribution under ``root``; return it."""
    root.mkdir(parents=True, exist_ok=True)
    for plugin, (dist, module, code) in ALL.items():
        make_distribution(root, dist, plugin, module, code)
    for module, code in SUPPORT_MODULES.items():
        (root / f"{module}.py").write_text(textwrap.dedent(code))
    return root
