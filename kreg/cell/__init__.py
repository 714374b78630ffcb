"""The ``%%kcompile`` cell: its grammar (:mod:`~kreg.cell.parse`) and its resolution into Keras
objects (:mod:`~kreg.cell.resolve`, with :mod:`~kreg.cell.components`, :mod:`~kreg.cell.data` and
the result, :mod:`~kreg.cell.spec`).
"""
