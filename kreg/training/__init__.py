"""Training a resolved cell: options, placement, speed, faults, the Run, export and `kreg train`.

Nothing here displays anything: a live view is passed in (see
:class:`kreg.training.view.TrainingView`).
"""
