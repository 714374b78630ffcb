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
import os
from pathlib import Path
from typing import Any

from kreg.cell.data import is_dataset
from kreg.cell.spec import CompileSpec
from kreg.errors import ExportError
from kreg.names import BUILTIN_PLUGIN
from kreg.versions import installed_version

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kreg.training.run import Run

FORMAT = "kreg-export/1"
SPEC_FILE = "run.json"
MODEL_FILE = "model.keras"
ARRAYS_FILE = "data.npz"
DATASET_FOLDER = "dataset"
FIT_SETTINGS = ("epochs", "batch_size", "validation_split", "shuffle", "initial_epoch")
DATA_KEYS = ("x", "y", "sample_weight", "validation_data")


def export_run(
    run: Run | None, path: str | os.PathLike[str], weights: str = "initial", data: bool = True
) -> Path:
    """Write ``run`` to the folder ``path`` (created; existing export files are replaced).

    ``weights="initial"`` stores the weights the run started from, so that
    ``kreg train PATH`` repeats the notebook's training; ``"trained"`` stores
    the weights it ended with (to train further elsewhere). ``data=False``
    leaves the data out (give ``kreg train --data`` then).

    Example:
        >>> export_run(None, "x")
        Traceback (most recent call last):
        ...
        kreg.errors.ExportError: nothing to export: ...
    """
    spec = run.spec if run is not None else None
    if run is None or spec is None or run.model is None:
        raise ExportError(
            "nothing to export: the run has no compiled model; run a %%kcompile cell first"
        )
    if weights not in ("initial", "trained"):
        raise ExportError(f"weights must be 'initial' or 'trained'. Received: {weights!r}")
    if weights == "initial" and spec.trains and run.initial_weights is None:
        raise ExportError(
            "the weights this run started from were not kept (kreg keeps them with its "
            "epoch-end safety copy, skipped above KREG_SAFETY_COPY_GB); export "
            'weights="trained", or raise KREG_SAFETY_COPY_GB and run the cell again'
        )
    not_exported: list[str] = []
    compile_section = _compile_section(spec)
    document: dict[str, Any] = {
        "format": FORMAT,
        "versions": _versions(),
        "model": MODEL_FILE,
        "model_name": run.model_name,
        "weights": weights,
        "compile": compile_section,
        "fit": _fit_section(spec),
        "precision": run.precision,
        "steps_per_execution": run.steps_per_execution,
        "plugins": _plugins_used(compile_section),
        "data": None,
        "not_exported": not_exported,
    }
    if "callbacks" in spec.fit_args:
        not_exported.append(
            f"callbacks = {spec.code['callbacks']} (notebook objects; kreg train adds its own)"
        )
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    _save_model(run, folder / MODEL_FILE, weights)
    if data and spec.trains:
        document["data"] = _save_data(spec, folder)
    elif spec.trains:
        not_exported.append("the data (export with data=True, or give --data)")
    (folder / SPEC_FILE).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    (folder / "README.md").write_text(_readme(document, folder))
    return folder


def check_exportable(spec: CompileSpec) -> None:
    """Raise :class:`ExportError` if ``spec`` holds a value an export cannot carry.

    Example:
        >>> from kreg.cell.parse import parse_cell
        >>> from kreg.cell.resolve import resolve_cell
        >>> check_exportable(resolve_cell(parse_cell("loss = mine"), {"mine": lambda t, p: t}))
        Traceback (most recent call last):
        ...
        kreg.errors.ExportError: cannot export loss = mine: 'mine' comes from the notebook's ...
    """
    _compile_section(spec)
    for key in DATA_KEYS:
        if key in spec.fit_args and not is_dataset(spec.fit_args.get("x")):
            _flatten(key, spec.fit_args[key], {})


def _versions() -> dict[str, str]:
    """kreg's, Keras's and the backend's versions (an export from JAX names JAX's)."""
    import keras

    from kreg.kerasext.backend import backend_name

    backend = backend_name()
    found = {
        "kreg": installed_version("kreg") or "0+unknown",
        "keras": keras.__version__,
        "backend": backend,
    }
    found[backend] = installed_version(backend) or "unknown"
    return found


def _compile_section(spec: CompileSpec) -> dict[str, Any]:
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


def _fit_section(spec: CompileSpec) -> dict[str, Any]:
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
    from kreg.registry.catalog import CATALOG

    infos = {info.name: info for info in CATALOG.plugins()}
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

    if plugin == BUILTIN_PLUGIN:
        return "kreg"
    for entry_point in importlib.metadata.entry_points(group="kreg"):
        if entry_point.name == plugin:
            dist = getattr(entry_point, "dist", None)
            return dist.name if dist else None
    return None


def _save_model(run: Run, path: Path, weights: str) -> None:
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


def _save_data(spec: CompileSpec, folder: Path) -> dict[str, Any]:
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
