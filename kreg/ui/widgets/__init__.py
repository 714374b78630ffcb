"""Widgets: :class:`CompileWidget` (compile and train from a form) and :class:`Browser`."""

from kreg.ui.widgets.browser import Browser
from kreg.ui.widgets.compile import CompileWidget
from kreg.ui.widgets.form import ArgumentForm

__all__ = ["ArgumentForm", "Browser", "CompileWidget"]
