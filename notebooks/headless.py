"""Run a notebook headless on a real kernel (nbclient), as ``make demo`` and the tests do.

Requires ``nbclient`` and ``ipykernel`` (installed by ``make``, the ``test`` extra).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def kernel_spec_folder(root: Path, name: str = "kreg-python") -> Path:
    """Write a kernelspec ``name`` for this interpreter under ``root``; return ``root``.

    Put ``root`` first on ``JUPYTER_PATH`` and the kernel of that name is this
    very Python (shadowing a system or ``~/.local`` spec of the same name).

    Example:
        >>> import tempfile
        >>> folder = kernel_spec_folder(Path(tempfile.mkdtemp()))
        >>> spec = json.loads((folder / "kernels/kreg-python/kernel.json").read_text())
        >>> spec["argv"][0] == sys.executable
        True
    """
    spec = root / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (kreg)",
                "language": "python",
                "env": {"TF_CPP_MIN_LOG_LEVEL": "3"},
            }
        )
    )
    return root


def execute_notebook(
    path: Path, output: Path | None = None, timeout: int = 600, workdir: Path | None = None
) -> tuple[Any, list[bytes]]:
    """Execute ``path`` cell by cell; return the executed notebook and its PNG outputs.

    Cells run in ``workdir`` (a fresh temporary folder by default) on a kernel of
    this interpreter. The executed notebook is written to ``output`` if given.
    A cell that raises stops the run with ``nbclient``'s ``CellExecutionError``,
    except cells tagged ``raises-exception``.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(str(path), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith(
            "%%kcompile model\nloss = hubber"
        ):
            cell.metadata.setdefault("tags", []).append("raises-exception")
    specs = Path(tempfile.mkdtemp(prefix="kreg-kernels-"))
    kernel_spec_folder(specs)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="kreg-notebook-"))
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(specs), previous]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="kreg-python",
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(output))
    images = [
        base64.b64decode(item["data"]["image/png"])
        for cell in notebook.cells
        for item in cell.get("outputs", [])
        if "image/png" in item.get("data", {})
    ]
    return notebook, images
