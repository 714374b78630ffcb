"""Export a notebook run to a self-contained folder that ``kreg train`` (or anyone) can load.

The folder holds the model (``model.keras``: architecture and the weights the
run started from), ``run.json`` (every compile component by provider-qualified
name with its config, the fit settings, precision, the plugins it needs) and,
when the data were arrays or a ``tf.data`` dataset, the data (``data.npz`` or a
``tf.data`` save folder). Nothing is pickled: loading needs kreg and the same
plugins, and says which plugin is missing when one is.

Example (doctest skipped: it needs a trained run):
    >>> run.export("exports/mlp")  # doctest: +SKIP
    PosixPath('exports/mlp')
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kreg.errors import KregError
from kreg.spec import is_dataset

FORMAT = "kreg-export/1"
SPEC_FILE = "run.json"
MODEL_FILE = "model.keras"
ARRAYS_FILE = "data.npz"
DATASET_FOLDER = "dataset"
FIT_SETTINGS = ("epochs", "batch_size", "validation_split", "shuffle", "initial_epoch")
DATA_KEYS = ("x", "y", "sample_weight", "validation_data")


class ExportError(KregError):
    """A run cannot be exported, or an export cannot be loaded here (what, why, and the fix)."""


# -- writing --------------------------------------------------------------------------------


def export_run(run: Any, path: str | Path, weights: str = "initial", data: bool = True) -> Path:
    """Write ``run`` to the folder ``path`` (created; existing export files are replaced).

    ``weights="initial"`` stores the weights the run started from, so that
    ``kreg train PATH`` repeats the notebook's training; ``"trained"`` stores
    the weights it ended with (to train further elsewhere). ``data=False``
    leaves the data out (give ``kreg train --data`` then).

    Example:
        >>> export_run(None, "x")
        Traceback (most recent call last):
        ...
        kreg.export.ExportError: nothing to export: ...
    """
    if run is None or getattr(run, "spec", None) is None or getattr(run, "model", None) is None:
        raise ExportError(
            "nothing to export: the run has no compiled model; run a %%kcompile cell first"
        )
    if weights not in ("initial", "trained"):
        raise ExportError(f"weights must be 'initial' or 'trained'. Received: {weights!r}")
    spec = run.spec
    if weights == "initial" and spec.trains and getattr(run, "initial_weights", None) is None:
        raise ExportError(
            "the weights this run started from were not kept (kreg keeps them with its "
            "epoch-end safety copy, skipped above KREG_SAFETY_COPY_GB); export "
            'weights="trained", or raise KREG_SAFETY_COPY_GB and run the cell again'
        )
    document = {
        "format": FORMAT,
        "versions": _versions(),
        "model": MODEL_FILE,
        "model_name": run.model_name,
        "weights": weights,
        "compile": _compile_section(spec),
        "fit": _fit_section(spec),
        "precision": run.precision,
        "steps_per_execution": run.steps_per_execution,
        "plugins": {},
        "data": None,
        "not_exported": [],
    }
    if "callbacks" in spec.fit_args:
        document["not_exported"].append(
            f"callbacks = {spec.code['callbacks']} (notebook objects; kreg train adds its own)"
        )
    document["plugins"] = _plugins_used(document["compile"])
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    _save_model(run, folder / MODEL_FILE, weights)
    if data and spec.trains:
        document["data"] = _save_data(spec, folder)
    elif spec.trains:
        document["not_exported"].append("the data (export with data=True, or give --data)")
    (folder / SPEC_FILE).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    (folder / "README.md").write_text(_readme(document, folder))
    return folder


def check_exportable(spec: Any) -> None:
    """Raise :class:`ExportError` if ``spec`` holds a value an export cannot carry.

    Example:
        >>> from kreg.cellparse import parse_cell
        >>> from kreg.spec import resolve_cell
        >>> check_exportable(resolve_cell(parse_cell("loss = mine"), {"mine": lambda t, p: t}))
        Traceback (most recent call last):
        ...
        kreg.export.ExportError: cannot export loss = mine: 'mine' comes from the notebook's ...
    """
    _compile_section(spec)
    for key in DATA_KEYS:
        if key in spec.fit_args and not is_dataset(spec.fit_args.get("x")):
            _flatten(key, spec.fit_args[key], {})


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    import kreg

    return {"kreg": kreg.__version__, "keras": keras.__version__, "tensorflow": tf.__version__}


def _compile_section(spec: Any) -> dict[str, Any]:
    section = {}
    for key, value in spec.compile_args.items():
        if key == "loss_weights":
            section[key] = value
            continue
        qualified = spec.qualified.get(key)
        _refuse_notebook_values(key, qualified, spec.code.get(key, key))
        section[key] = qualified
    return section


def _refuse_notebook_values(key: str, qualified: Any, code: str) -> None:
    if qualified is None or (isinstance(qualified, dict) and "variable" in qualified):
        name = qualified["variable"] if isinstance(qualified, dict) else code
        raise ExportError(
            f"cannot export {key} = {code}: {name!r} comes from the notebook's namespace, and an "
            "export is loaded without the notebook (nothing is pickled). Register it in a kreg "
            "plugin (see notebooks/writing-a-plugin.ipynb) or use a registry name, then export "
            "again"
        )
    if isinstance(qualified, dict):
        for value in (qualified.get("config") or qualified).values():
            _refuse_notebook_values(key, value, code)
    elif isinstance(qualified, list):
        for value in qualified:
            _refuse_notebook_values(key, value, code)


def _fit_section(spec: Any) -> dict[str, Any]:
    section = {k: spec.fit_args[k] for k in FIT_SETTINGS if k in spec.fit_args}
    if spec.fit_args.get("class_weight") is not None:
        section["class_weight"] = {str(k): v for k, v in spec.fit_args["class_weight"].items()}
    return section


def _components(value: Any) -> list[str]:
    if isinstance(value, dict) and "component" in value:
        found = [value["component"]]
        return found + [n for v in (value.get("config") or {}).values() for n in _components(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _components(v)]
    if isinstance(value, list):
        return [n for v in value for n in _components(v)]
    return []


def _plugins_used(compile_section: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    from kreg import api

    infos = {info.name: info for info in api.plugins()}
    used = {}
    for component in _components(compile_section):
        plugin = component.split(":", 1)[0]
        info = infos.get(plugin)
        used[plugin] = {
            "version": info.version if info else None,
            "distribution": _distribution(plugin),
        }
    return dict(sorted(used.items()))


def _distribution(plugin: str) -> str | None:
    import importlib.metadata

    if plugin == "keras":
        return "kreg"
    for entry_point in importlib.metadata.entry_points(group="kreg"):
        if entry_point.name == plugin:
            dist = getattr(entry_point, "dist", None)
            return dist.name if dist else None
    return None


def _save_model(run: Any, path: Path, weights: str) -> None:
    model = run.model
    initial = getattr(run, "initial_weights", None)
    if weights == "trained" or initial is None:  # None: it only compiled, nothing changed
        model.save(path)
        return
    trained = model.get_weights()
    try:
        model.set_weights(initial)
        model.save(path)
    finally:
        model.set_weights(trained)


def _array_like(value: Any) -> bool:
    import numpy as np

    return isinstance(value, np.ndarray) or (
        hasattr(type(value), "__array__") and not is_dataset(value)
    )


def _flatten(prefix: str, value: Any, into: dict[str, Any]) -> None:
    import numpy as np

    if value is None:
        return
    if isinstance(value, (list, tuple)):
        into[f"{prefix}.__len__"] = np.asarray(len(value))
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}", item, into)
    elif isinstance(value, dict):
        into[f"{prefix}.__keys__"] = np.asarray(list(value))
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, into)
    elif _array_like(value):
        into[prefix] = np.asarray(value)
    else:
        raise ExportError(
            f"cannot export the data {prefix}: a {type(value).__name__} is neither an array nor "
            "a tf.data.Dataset; export with data=False and give kreg train --data"
        )


def _save_data(spec: Any, folder: Path) -> dict[str, Any]:
    import numpy as np

    x = spec.fit_args["x"]
    if is_dataset(x):
        x.save(str(folder / DATASET_FOLDER))
        return {"dataset": DATASET_FOLDER, "source": spec.code.get("x")}
    arrays: dict[str, Any] = {}
    for key in DATA_KEYS:
        _flatten(key, spec.fit_args.get(key), arrays)
    np.savez(folder / ARRAYS_FILE, **arrays)
    sources = {k: spec.code[k] for k in DATA_KEYS if k in spec.code}
    return {"arrays": ARRAYS_FILE, "source": sources}


def _readme(document: dict[str, Any], folder: Path) -> str:
    data = "" if document["data"] else " --data DATA.npz"
    plugins = ", ".join(
        f"{name} ({info['distribution'] or 'unknown distribution'})"
        for name, info in document["plugins"].items()
    )
    lines = [
        f"# kreg export of `{document['model_name']}`",
        "",
        f"Train it: `kreg train {folder.name}{data}` (add `--strategy mirrored` for all GPUs, or",
        "`--strategy multiworker` with TF_CONFIG set on every worker).",
        "",
        f"Needs kreg and these plugins: {plugins or 'none'}.",
        f"Weights in model.keras: the run's {document['weights']} weights.",
    ]
    lines += [f"Not exported: {item}." for item in document["not_exported"]]
    return "\n".join(lines) + "\n"


# -- reading --------------------------------------------------------------------------------


@dataclass
class Export:
    """An export folder, read: its ``run.json`` document and where it lies.

    Example:
        >>> load_export("no/such/folder")
        Traceback (most recent call last):
        ...
        kreg.export.ExportError: no/such/folder is not a kreg export: ...
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
        from kreg import api

        loaded = {info.name for info in api.plugins() if info.status == "ok"}
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
        return {k: build(v) for k, v in self.document["compile"].items()}

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


def build(value: Any) -> Any:
    """Rebuild one exported compile value: components by qualified name, lists, dicts, literals.

    Example:
        >>> type(build({"component": "keras:huber", "kind": "loss", "config": {"delta": 2.0}}))
        <class 'keras.src.losses.losses.Huber'>
        >>> [type(m).__name__ for m in build([{"component": "keras:mae", "kind": "metric"}])]
        ['MeanAbsoluteError']
    """
    from kreg import api

    if isinstance(value, dict) and "component" in value:
        name = value["component"]
        config = {k: build(v) for k, v in (value.get("config") or {}).items()}
        try:
            entry = api.lookup(name, kind=value.get("kind"))
        except KregError as error:
            raise ExportError(
                f"the exported component {name!r} is not in this registry ({error}); install "
                f"the plugin {name.split(':', 1)[0]!r} that provides it"
            ) from None
        return entry.create(config)
    if isinstance(value, dict):
        return {k: build(v) for k, v in value.items()}
    if isinstance(value, list):
        return [build(v) for v in value]
    return value


def load_data(path: str | Path) -> dict[str, Any]:
    """fit() data from a ``.npz`` (keys x, y, ...) or a ``tf.data`` save folder (as ``x``).

    Example:
        >>> load_data("missing.npz")
        Traceback (most recent call last):
        ...
        kreg.export.ExportError: no data at missing.npz: ...
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


def finite_or_none(value: float) -> float | None:
    """JSON-safe float: NaN and infinities become None.

    Example:
        >>> finite_or_none(float("nan")), finite_or_none(1.5)
        (None, 1.5)
    """
    return value if math.isfinite(value) else None
