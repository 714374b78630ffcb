"""``make test-compat``: kreg in throw-away venvs of the oldest and newest TensorFlow it declares.

Each configuration gets ``build/compat/<name>``: a fresh venv of that Python (found as
``pythonX.Y`` on the PATH or in pyenv), TensorFlow and Keras as listed, kreg and
kreg-contrib. It runs the fast part of the suite (:data:`FAST`) and the quickstart
notebook on a real kernel, then the README's "Supported versions" table is rewritten
between its markers (versions, result, date, commit).

Usage: ``python tools/test_compat.py [README.md]`` (not part of CI: it downloads and
installs about 1.5 GB of TensorFlow wheels).
"""

from __future__ import annotations

import datetime
import glob
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "compat"

CONFIGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # The oldest TensorFlow kreg declares (2.16) with the oldest Keras it declares (3.10).
    ("oldest", "3.10", ("tensorflow==2.16.2", "keras==3.10.0")),
    # The newest TensorFlow and Keras, on the two newest Pythons.
    ("newest-py3.12", "3.12", ("tensorflow", "keras")),
    ("newest-py3.13", "3.13", ("tensorflow", "keras")),
)
FAST = (
    "tests/unit",
    "tests/test_resolution.py",
    "tests/test_kcompile.py",
    "tests/test_contracts.py",
    "tests/test_saving.py",
    "tests/test_preflight_mistakes.py",
    "tests/test_preflight_correct.py",
    "tests/test_notebooks.py::test_quickstart_runs_and_trains",
)
"""The fast part of the suite, and the quickstart notebook on a real kernel."""

START, END = "<!-- compat-table:start -->", "<!-- compat-table:end -->"


def python_for(version: str) -> str:
    """An interpreter of Python ``version``: pyenv's (its shims need a selected version),
    else ``pythonX.Y`` on the PATH."""
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python"))
    found = candidates[-1] if candidates else shutil.which(f"python{version}")
    if not found:
        raise SystemExit(f"no Python {version}: install it (pyenv install {version})")
    return found


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(argv), flush=True)
    return subprocess.run(argv, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def test_config(name: str, python: str, packages: tuple[str, ...]) -> dict[str, str]:
    """Build the venv, install, run :data:`FAST`; the row of the table."""
    venv = BUILD / name
    shutil.rmtree(venv, ignore_errors=True)
    started = time.perf_counter()
    made = run([python_for(python), "-m", "venv", str(venv)])
    row = {"name": name, "python": python, "asked": " ".join(packages)}
    if made.returncode != 0:
        row.update(result=f"venv failed: {made.stderr.strip()[-200:]}")
        return row
    py = str(venv / "bin" / "python")
    contrib = ["-e", str(ROOT / "plugins" / "kreg-contrib")]
    steps = [
        run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"]),
        run([py, "-m", "pip", "install", "--quiet", *packages, "-e", f"{ROOT}[test]", *contrib]),
    ]
    failed = next((step for step in steps if step.returncode != 0), None)
    if failed is not None:
        row.update(result=f"install failed: {failed.stderr.strip().splitlines()[-1][:200]}")
        return row
    versions = run(
        [
            py,
            "-c",
            "import sys, importlib.metadata as m; "
            "print(sys.version.split()[0], m.version('tensorflow'), m.version('keras'))",
        ]
    ).stdout.split()
    row.update(python=versions[0], tensorflow=versions[1], keras=versions[2])
    tests = run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST], cwd=ROOT)
    counted = re.compile(r"\d+ (passed|failed)")
    summary = [line for line in tests.stdout.splitlines() if counted.search(line)]
    outcome = summary[-1].strip("= ") if summary else tests.stdout[-300:]
    row["result"] = ("pass: " if tests.returncode == 0 else "FAIL: ") + outcome
    row["seconds"] = f"{time.perf_counter() - started:.0f}"
    if tests.returncode != 0:
        (BUILD / f"{name}.log").write_text(tests.stdout + tests.stderr)
        row["result"] += f" (log: build/compat/{name}.log)"
    return row


def table(rows: list[dict[str, str]]) -> str:
    commit = run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
    today = datetime.date.today().isoformat()
    lines = [
        START,
        f"`make test-compat`, {today}, commit {commit} (throw-away venvs; the fast part of the "
        "suite and the quickstart notebook):",
        "",
        "| configuration | Python | TensorFlow | Keras | result | minutes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        minutes = f"{int(row['seconds']) / 60:.1f}" if "seconds" in row else "-"
        lines.append(
            f"| {row['name']} | {row['python']} | {row.get('tensorflow', '-')} | "
            f"{row.get('keras', '-')} | {row['result']} | {minutes} |"
        )
    return "\n".join([*lines, END])


def main() -> None:
    readme = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "README.md"
    BUILD.mkdir(parents=True, exist_ok=True)
    rows = [test_config(*config) for config in CONFIGS]
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    readme.write_text(head + table(rows) + rest.split(END, 1)[1])
    print(table(rows))
    if any(not row["result"].startswith("pass") for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
