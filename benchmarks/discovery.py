"""Plugin discovery time with 0, 50, 100 and 200 installed entry-point plugins.

Each plugin is a real installed-looking distribution (``dist-info`` with an
``entry_points.txt`` in the ``kreg`` group, and a hook module registering one
lazy loss) in a temporary site folder on ``PYTHONPATH``. Each figure is the
median wall time of ``kreg.reload()`` in a fresh interpreter. Prints JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

COUNTS = (0, 50, 100, 200)
CODE = (
    "import time, kreg\n"
    "started = time.perf_counter()\n"
    "kreg.reload()\n"
    "print(time.perf_counter() - started, len(kreg.plugins()))\n"
)


def build_site(root: Path, count: int) -> Path:
    site = root / f"site{count}"
    site.mkdir()
    for index in range(count):
        module = f"bench_plugin_{index}"
        (site / f"{module}.py").write_text(
            textwrap.dedent(
                f"""
                import kreg

                @kreg.hookimpl
                def register_losses(register):
                    register("{module}_impl:Loss{index}", name="bench_loss_{index}")
                """
            )
        )
        info = site / f"bench_plugin_{index}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: bench-plugin-{index}\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[kreg]\nbench{index} = {module}\n")
    return site


def measure(site: Path, repeat: int) -> list[float]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("KREG_PLUGINS", None)
    times = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.split()[0]))
    return times


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in COUNTS:
            times = measure(build_site(Path(folder), count), repeat)
            results[count] = {
                "median": statistics.median(times),
                "min": min(times),
                "max": max(times),
            }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
