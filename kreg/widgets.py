"""The widgets, where users import them from: ``from kreg.widgets import CompileWidget, Browser``.

They live in :mod:`kreg.ui.widgets`; this module only re-exports them.
"""

from kreg.ui.widgets import ArgumentForm, Browser, CompileWidget

__all__ = ["ArgumentForm", "Browser", "CompileWidget"]
