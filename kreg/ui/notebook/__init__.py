"""IPython: the ``%%kcompile`` and ``%kreg`` magics, a cell around its training, completion."""
