"""Read an export folder back: the model, its compile components rebuilt by name, the data.

Nothing is unpickled: ``model.keras`` is read with Keras's ``safe_mode``, ``data.npz``
with ``allow_pickle=False``, and components are rebuilt from the registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kreg.errors import ExportError, KregError
from kreg.training.export import DATA_KEYS, FORMAT, SPEC_FILE


@dataclass
class Export:
    """An export folder, read: its ``run.json`` document and where it lies.

    Example:
        >>> load_export("no/such/folder")
        Traceback (most recent call last):
        ...
        kreg.errors.ExportError: no/such/folder is not a kreg export: ...
    """

    folder: Path
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def fit_settings(self) -> dict[str, Any]:
        """The fit() keyword settings (epochs, batch_size...), class_weight keys back as ints."""
        settings = dict(self.document.get("fit", {}))
        if "class_weight" in settings:
            settings["class_weight"] = {int(k): v for k, v in settings["class_weight"].items()}
        return settings

    def check_plugins(self) -> None:
        """Raise :class:`ExportError` naming each plugin the export needs that is not loaded."""
        from kreg.registry.catalog import CATALOG

        loaded = {info.name for info in CATALOG.plugins() if info.status == "ok"}
        missing = {k: v for k, v in self.document.get("plugins", {}).items() if k not in loaded}
        if missing:
            described = "; ".join(
                f"{name!r} (pip install {info.get('distribution') or name}"
                + (f"=={info['version']}" if info.get("version") else "")
                + ")"
                for name, info in missing.items()
            )
            raise ExportError(
                f"{self.folder} needs kreg plugins that are not installed or failed to load: "
                f"{described}. Install them (`kreg plugins` shows what is loaded) and run again"
            )

    def load_model(self) -> Any:
        """The model, uncompiled, built in the current distribution strategy's scope."""
        import keras

        return keras.saving.load_model(self.folder / self.document["model"], compile=False)

    def compile_args(self) -> dict[str, Any]:
        """``compile()`` keyword arguments, each component rebuilt from the registry."""
        self.check_plugins()
        return {k: build_value(v) for k, v in self.document["compile"].items()}

    def data(self) -> dict[str, Any] | None:
        """The exported data as fit() arguments (x, y, ...), or None when none was exported."""
        described = self.document.get("data")
        if not described:
            return None
        if "dataset" in described:
            return {"x": load_data(self.folder / described["dataset"])["x"]}
        return load_data(self.folder / described["arrays"])


def load_export(path: str | Path) -> Export:
    """Read the export folder ``path``; raise :class:`ExportError` if it is not one."""
    folder = Path(path)
    spec_file = folder / SPEC_FILE
    if not spec_file.is_file():
        raise ExportError(
            f"{folder} is not a kreg export: it has no {SPEC_FILE}. Make one with "
            "run.export(PATH) or %%kcompile MODEL --export PATH"
        )
    try:
        document = json.loads(spec_file.read_text())
    except json.JSONDecodeError as error:
        raise ExportError(
            f"{spec_file} is not valid JSON ({error}); export the run again"
        ) from None
    if document.get("format") != FORMAT:
        raise ExportError(
            f"{spec_file} has format {document.get('format')!r}; this kreg reads {FORMAT!r}. "
            "Export again with this kreg version"
        )
    return Export(folder, document)


def build_value(value: Any) -> Any:
    """Rebuild one exported compile value: components by qualified name, lists, dicts, literals.

    Example:
        >>> huber = {"component": "keras:huber", "kind": "loss", "config": {"delta": 2.0}}
        >>> type(build_value(huber))
        <class 'keras.src.losses.losses.Huber'>
        >>> [type(m).__name__ for m in build_value([{"component": "keras:mae", "kind": "metric"}])]
        ['MeanAbsoluteError']
    """
    from kreg.registry.catalog import CATALOG

    if isinstance(value, dict) and "component" in value:
        name = value["component"]
        config = {k: build_value(v) for k, v in (value.get("config") or {}).items()}
        try:
            entry = CATALOG.lookup(name, kind=value.get("kind"))
        except KregError as error:
            raise ExportError(
                f"the exported component {name!r} is not in this registry ({error}); install "
                f"the plugin {name.split(':', 1)[0]!r} that provides it"
            ) from None
        return entry.create(config)
    if isinstance(value, dict):
        return {k: build_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [build_value(v) for v in value]
    return value


def load_data(path: str | Path) -> dict[str, Any]:
    """fit() data from a ``.npz`` (keys x, y, ...) or a ``tf.data`` save folder (as ``x``).

    Example:
        >>> load_data("missing.npz")
        Traceback (most recent call last):
        ...
        kreg.errors.ExportError: no data at missing.npz: ...
    """
    source = Path(path)
    if source.is_dir():
        import tensorflow as tf

        try:
            return {"x": tf.data.Dataset.load(str(source))}
        except Exception as error:
            raise ExportError(
                f"{source} is a folder but not a tf.data save folder ({type(error).__name__}: "
                f"{error}); write one with dataset.save(PATH)"
            ) from None
    if not source.is_file():
        raise ExportError(
            f"no data at {source}: give an .npz file with arrays x and y (np.savez(PATH, x=..., "
            "y=...)) or a folder written by tf.data.Dataset.save"
        )
    import numpy as np

    with np.load(source, allow_pickle=False) as arrays:
        flat = {k: arrays[k] for k in arrays.files}
    if "x" not in flat and not any(k.startswith("x.") for k in flat):
        raise ExportError(f"{source} has no array named x (it has {sorted(flat)}); save x and y")
    data = {k: _unflatten(k, flat) for k in DATA_KEYS if _present(k, flat)}
    return data


def _present(prefix: str, flat: dict[str, Any]) -> bool:
    return prefix in flat or any(k.startswith(prefix + ".") for k in flat)


def _unflatten(prefix: str, flat: dict[str, Any]) -> Any:
    if prefix in flat:
        return flat[prefix]
    if f"{prefix}.__len__" in flat:
        count = int(flat[f"{prefix}.__len__"])
        items = [_unflatten(f"{prefix}.{i}", flat) for i in range(count)]
        return tuple(items) if prefix == "validation_data" else items
    keys = [str(k) for k in flat[f"{prefix}.__keys__"]]
    return {k: _unflatten(f"{prefix}.{k}", flat) for k in keys}
