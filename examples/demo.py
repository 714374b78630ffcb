"""`make demo`: run notebooks/quickstart.ipynb and compare.ipynb headless on a real kernel.

Writes build/quickstart.ipynb (the executed notebook, outputs included),
build/quickstart-training.png (the final training plot of its first run),
build/compare.ipynb and build/compare-optimizers.png / build/compare-schedules.png
(the final figure of each of its two comparisons).
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
    compared = BUILD / "compare.ipynb"
    _, figures = execute_notebook(ROOT / "notebooks" / "compare.ipynb", compared)
    if len(figures) != 2:
        print(f"compare.ipynb left {len(figures)} figures, not 2", file=sys.stderr)
        return 1
    written = []
    for name, png in zip(("optimizers", "schedules"), figures):
        path = BUILD / f"compare-{name}.png"
        path.write_bytes(png)
        written.append(path.relative_to(ROOT))
    print(f"\nExecuted notebook: {executed.relative_to(ROOT)}")
    print(f"Training plot:     {plot.relative_to(ROOT)}")
    print(f"Comparison:        {compared.relative_to(ROOT)}")
    print(f"Comparison plots:  {', '.join(map(str, written))}")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
