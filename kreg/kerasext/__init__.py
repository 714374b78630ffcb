"""What kreg adds to or repairs in Keras.

- :mod:`~kreg.kerasext.accuracy`: ``AutoAccuracy``, the metric behind ``accuracy``/``acc``;
- :mod:`~kreg.kerasext.losses`: per-sample ``Dice`` and ``Tversky``;
- :mod:`~kreg.kerasext.wrappers`: plain ``fn(y_true, y_pred)`` functions as Keras objects;
- :mod:`~kreg.kerasext.serialization`: registration with Keras's serialization (so
  ``load_model`` needs no ``custom_objects``) and the ``get_config`` repair;
- :mod:`~kreg.kerasext.hook`: run code once Keras has finished importing.

Importing this package (or ``hook`` or ``serialization``) does not import Keras; the
other modules do.
"""
