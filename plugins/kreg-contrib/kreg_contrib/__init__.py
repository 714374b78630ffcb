"""kreg-contrib: components Keras 3 lacks, registered with kreg through its four hooks.

Importing this package imports nothing heavy; the components live in
``kreg_contrib.losses``, ``.metrics``, ``.schedules`` and ``.optimizers`` and
are imported (with Keras) only when first used.
"""

__version__ = "0.1.0"
