"""`make demo`: run notebooks/quickstart.ipynb headless on a real kernel and keep what it made.

Writes build/quickstart.ipynb (the executed notebook, outputs included) and
build/quickstart-training.png (the final training plot of its first run).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # notebooks/headless.py is a tool of this checkout, not of kreg

from notebooks.headless import execute_notebook  # noqa: E402

BUILD = ROOT / "build"


def main() -> int:
    started = time.perf_counter()
    executed = BUILD / "quickstart.ipynb"
    notebook, images = execute_notebook(ROOT / "notebooks" / "quickstart.ipynb", executed)
    if not images:
        print("the quickstart produced no training plot", file=sys.stderr)
        return 1
    plot = BUILD / "quickstart-training.png"
    plot.write_bytes(images[0])
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            if output.get("output_type") == "stream" and text.startswith("kreg:"):
                print(text.rstrip())
    print(f"\nExecuted notebook: {executed.relative_to(ROOT)}")
    print(f"Training plot:     {plot.relative_to(ROOT)}")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
