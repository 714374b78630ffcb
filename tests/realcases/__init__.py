"""Components written here that reproduce, one by one, what kreg's checks got wrong on real
third-party Keras libraries (issue 14): each mimics a real library's component, named in its
docstring, and the tests compare kreg's verdict on it with what a real fit, save or
load_model does. ``tests/realcases_registration.py`` registers them as the plugin
``realcases``; it lies outside this package, because importing the package imports its
classes, as importing a real library does.

The package re-exports its classes, as keras-rs, keras-cv and keras-hub do, so that the
registry's summaries must follow the re-export to the defining module.
"""

from tests.realcases.losses import PerItemLoss, SimCLRLoss

__all__ = ["PerItemLoss", "SimCLRLoss"]
