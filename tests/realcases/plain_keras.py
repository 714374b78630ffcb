"""What plain Keras, without kreg, does with the components whose ``get_config`` is wrong.

Run as ``python -m tests.realcases.plain_keras FOLDER``: prints one JSON line. A separate
process, because kreg repairs these classes' ``get_config`` in a process that used them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import keras
import numpy as np

from tests.realcases.losses import BoxLoss, OwnConfigBoxLoss, SmoothDiceLoss


def _fit_and_reload(loss: Any, folder: str, name: str, width: int) -> Any:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.uniform(0, 1, (16, width)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(width, "sigmoid")])
    model.compile("sgd", loss)
    model.fit(x, y, batch_size=8, verbose=0)
    path = f"{folder}/{name}.keras"
    model.save(path)
    objects = {type(loss).__name__: type(loss)}
    return keras.models.load_model(path, custom_objects=objects)


def main(folder: str) -> dict[str, Any]:
    """Fit, save and load each component with plain Keras; what happened, as JSON values."""
    found: dict[str, Any] = {"kreg_imported": "kreg" in sys.modules}
    for name, cls in (("box_loss", BoxLoss), ("own_config_box_loss", OwnConfigBoxLoss)):
        try:
            _fit_and_reload(cls(bounding_box_format="xywh"), folder, name, 4)
            found[name] = "loaded"
        except Exception as error:
            found[name] = f"{type(error).__name__}: {error}"
    loaded = _fit_and_reload(SmoothDiceLoss(smooth=3.0), folder, "dice", 4)
    found["smooth_dice_loss"] = loaded.loss.smooth
    return found


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
