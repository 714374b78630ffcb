"""Write docs/compatibility.md: kreg's verdict on every component of every bridged library.

Usage (``make compat-table`` runs it in .venv-bridges, where every bridge is installed)::

    python tools/compat_table.py docs/compatibility.md

For each bridge in ``plugins/`` that is installed, ``kreg check --plugin NAME --json`` gives
the verdicts; the entries' declared defects give the consequence each one has in a real
fit or save/load, which the bridge's tests confirm (``test_declared_defects_are_real``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import tomllib

import kreg

ROOT = Path(__file__).resolve().parent.parent
OWN_PLUGINS = {"contrib"}  # kreg's own components, not a bridge to a library


@dataclass
class Bridge:
    """One bridge plugin: its folder, plugin name and the library it registers."""

    folder: Path
    plugin: str
    library: str

    @property
    def library_version(self) -> str:
        """The installed version of the bridged library."""
        try:
            return metadata.version(self.library)
        except metadata.PackageNotFoundError:
            return "not installed"


def bridges() -> list[Bridge]:
    """Every bridge under plugins/, from its pyproject.toml (entry point and dependency)."""
    found = []
    for pyproject in sorted(ROOT.glob("plugins/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        plugin = next(iter(project.get("entry-points", {}).get("kreg", {})), None)
        if plugin is None or plugin in OWN_PLUGINS:
            continue
        libraries = [d for d in project.get("dependencies", []) if not d.startswith("kreg")]
        name = libraries[0].split(";")[0]
        for mark in "<>=!~[ ":
            name = name.split(mark)[0]
        found.append(Bridge(pyproject.parent, plugin, name))
    return found


def reports(plugin: str) -> list[dict[str, object]]:
    """``kreg check --plugin PLUGIN --json``'s reports (in a child process, as a user runs it)."""
    done = subprocess.run(
        [sys.executable, "-m", "kreg", "check", "--plugin", plugin, "--json", "--jobs", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"},
        timeout=900,
    )
    if not done.stdout.strip():
        raise SystemExit(f"kreg check --plugin {plugin} failed:\n{done.stderr[-3000:]}")
    found: list[dict[str, object]] = json.loads(done.stdout)["reports"]
    return found


def _cell(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _handed_out(name: str, failing: list[str]) -> str:
    """What ``kreg.get`` does with the entry: refuses it, hands it out, or repairs it."""
    from kreg.contracts.structural import BLOCKING
    from kreg.ui.describe import repaired_arguments

    if any(check in BLOCKING for check in failing):
        return "refused"
    if "construct" in failing:
        return "raises the same error"
    entry = kreg.lookup(name)
    try:
        entry.load()
        repaired = repaired_arguments(entry)
    except Exception as error:  # it cannot even be imported: say so
        return f"fails ({type(error).__name__})"
    return f"repaired: {', '.join(repaired)}" if repaired else "yes"


def section(bridge: Bridge) -> list[str]:
    """The Markdown of one library: its verdict table and its known defects."""
    found = reports(bridge.plugin)
    passed = sum(bool(r["ok"]) for r in found)
    test_file = next(bridge.folder.glob("tests/test_*.py"), None)
    tests = test_file.relative_to(ROOT).as_posix() if test_file else "its tests"
    lines = [
        f"## {bridge.library} {bridge.library_version}",
        "",
        f"Bridge: `plugins/{bridge.folder.name}` (plugin `{bridge.plugin}`). "
        f"{passed} of {len(found)} components pass.",
        "",
        "| Component | Kind | Verdict | Failing checks | Reason (first failing check) "
        "| `kreg.get` |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    defects: list[tuple[str, str, str]] = []
    for report in found:
        name = str(report["subject"]).split("'")[1]
        checks = report["checks"]
        assert isinstance(checks, list)
        failing = [c for c in checks if c["outcome"] == "fail"]
        verdict = "ok" if report["ok"] else "failed"
        warned = [c["name"] for c in checks if c["outcome"] == "warn"]
        if warned and report["ok"]:
            verdict = f"ok (warns: {', '.join(warned)})"
        reason = _cell(failing[0]["message"]) if failing else ""
        names = ", ".join(c["name"] for c in failing)
        handed = _handed_out(name, [c["name"] for c in failing])
        lines.append(f"| `{name}` | {report['kind']} | {verdict} | {names} | {reason} | {handed} |")
        for tag, why in kreg.lookup(name).defects:
            defects.append((name, tag, why))
    if defects:
        lines += [
            "",
            f"Known defects, declared by the bridge (`kreg.get` warns once; the consequence "
            f"is confirmed in a real fit or save/load by `{tests}`):",
            "",
            "| Components | Defect | Consequence and workaround |",
            "| --- | --- | --- |",
        ]
        grouped: dict[tuple[str, str], list[str]] = {}
        for name, tag, why in defects:
            grouped.setdefault((tag, why), []).append(f"`{name.split(':', 1)[1]}`")
        for (tag, why), names in grouped.items():
            lines.append(f"| {', '.join(names)} | {tag} | {_cell(why, 400)} |")
    return [*lines, ""]


def main(target: str) -> None:
    """Write the table of every installed bridge to ``target``."""
    installed = {p.name for p in kreg.plugins() if p.status == "ok"}
    chosen = [b for b in bridges() if b.plugin in installed]
    missing = [b.plugin for b in bridges() if b.plugin not in installed]
    lines = [
        "# Compatibility of real Keras libraries with kreg's contract checks",
        "",
        "Generated by `make compat-table` (tools/compat_table.py) from `kreg check --json`, "
        f"with Keras {metadata.version('keras')} and TensorFlow "
        f"{metadata.version('tensorflow')} on Python {sys.version.split()[0]}. "
        "What the verdicts, tags and defects mean: README, section *Bridges*.",
        "",
    ]
    if missing:
        lines += [f"Not installed here, so not listed: {', '.join(missing)}.", ""]
    for bridge in chosen:
        print(f"checking {bridge.plugin} ({bridge.library})", file=sys.stderr)
        lines += section(bridge)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("\n".join(lines))
    print(f"wrote {target}: {len(chosen)} libraries", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/compatibility.md")
