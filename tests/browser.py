"""Helpers for the real-browser test: JupyterLab on loopback, driven by Chromium via Playwright.

Not a test module. Nothing here downloads anything: Chromium is Debian's ``chromium``
(``make browser-deps`` installs it), and Playwright is only ever given its
``executable_path``; ``playwright install`` is never run. Playwright and JupyterLab are
imported lazily, so this module imports (and its doctests run) without them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from notebooks.headless import kernel_spec_folder

#: Where Debian's ``chromium`` package puts the browser; ``KREG_CHROMIUM`` overrides it
#: (``KREG_CHROMIUM=/nonexistent`` simulates a machine where it could not be installed).
CHROMIUM = "/usr/bin/chromium"

#: Chromium flags: no sandbox (root in a container), /tmp instead of a small /dev/shm.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]

_PROMPT_DONE = re.compile(r"^\[\d+\]:?$")


def chromium_path() -> str:
    """The Chromium this test drives: ``$KREG_CHROMIUM`` or :data:`CHROMIUM`."""
    return os.environ.get("KREG_CHROMIUM", CHROMIUM)


def ensure_chromium(path: str | None = None) -> str | None:
    """The path of a Chromium that runs (``path``, else :func:`chromium_path`), or None.

    It only looks: installing is ``make browser-deps``'s job, never the test's.

    Example:
        >>> ensure_chromium("/nonexistent") is None
        True
    """
    path = path or chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return path if done.returncode == 0 and "chromium" in done.stdout.lower() else None


def missing_requirements() -> str | None:
    """Why the browser test cannot run here (a sentence), or None when it can."""
    import importlib.util

    if ensure_chromium() is None:
        return (
            f"Chromium is not installed at {chromium_path()} (`make browser-deps` runs "
            "`apt-get install -y chromium`; it could not be installed here)"
        )
    for module, package in (("playwright.sync_api", "playwright"), ("jupyterlab", "jupyterlab")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{package} is not importable (pip install -e '.[test]' installs it)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_url(base: str, path: str = "lab") -> str:
    """``path`` on the server ``base`` (as :func:`jupyterlab_server` yields it), token kept.

    Example:
        >>> lab_url("http://127.0.0.1:8888/?token=abc", "lab/tree/a b.ipynb")
        'http://127.0.0.1:8888/lab/tree/a%20b.ipynb?token=abc'
    """
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(path.lstrip("/"))))


def _token(base: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(base).query)["token"][0]


def _write_settings(folder: Path) -> None:
    """User settings: no news/update toasts, every cell attached to the DOM (no windowing)."""
    settings = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "windowingMode": "none",
        },
    }
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _get(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


def _stop(process: subprocess.Popen, base: str | None, timeout: float = 20.0) -> None:
    """Shut the server down (its kernels first), then the process group; bounded."""
    if process.poll() is None and base is not None:
        request = urllib.request.Request(
            lab_url(base, "api/shutdown"),
            method="POST",
            headers={"Authorization": f"token {_token(base)}"},
        )
        with contextlib.suppress(OSError, urllib.error.URLError):
            urllib.request.urlopen(request, timeout=5).close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout / 2)
    for sig, wait in ((signal.SIGTERM, timeout / 2), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    # Kernels run in sessions of their own; they exit with their parent (JPY_PARENT_PID).


@contextlib.contextmanager
def jupyterlab_server(root: Path, start_timeout: float = 60.0, attempts: int = 3) -> Iterator[str]:
    """Run JupyterLab on 127.0.0.1 (free port, random token) serving ``root``.

    Yields its base URL with the token (``http://127.0.0.1:PORT/?token=...``). Config,
    data, runtime, settings and workspaces live in a temporary folder, so nothing the
    user configured (or a workspace left open) changes what the browser sees. The server
    runs in its own process group, which is shut down on exit (kill if it must).
    """
    with tempfile.TemporaryDirectory(prefix="kreg-lab-") as home_name:
        home = Path(home_name)
        kernel_spec_folder(home / "path", "python3")  # shadows any other python3 spec
        _write_settings(home / "settings")
        for name in ("config", "data", "runtime", "workspaces"):
            (home / name).mkdir()
        env = dict(os.environ)
        env.update(
            JUPYTER_PATH=os.pathsep.join(
                filter(None, [str(home / "path"), env.get("JUPYTER_PATH")])
            ),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            TF_CPP_MIN_LOG_LEVEL="3",
            PYTHONUNBUFFERED="1",
        )
        env.pop("JUPYTER_TOKEN", None)
        log_path = home / "server.log"
        failures: list[str] = []
        for _ in range(attempts):
            port, token = free_port(), secrets.token_hex(24)
            command = [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",  # ServerApp.token, deprecated
                f"--ServerApp.root_dir={root}",
                "--ServerApp.open_browser=False",
                "--ServerApp.terminals_enabled=False",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                f"--LabApp.user_settings_dir={home / 'settings'}",
                f"--LabApp.workspaces_dir={home / 'workspaces'}",
                "--LabApp.extension_manager=readonly",
            ]
            if os.geteuid() == 0:
                command.append("--allow-root")
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command,
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            base = f"http://127.0.0.1:{port}/?token={token}"
            try:
                deadline = time.monotonic() + start_timeout
                while process.poll() is None and time.monotonic() < deadline:
                    try:
                        _get(lab_url(base, "api/status"), timeout=2)
                        break
                    except urllib.error.HTTPError as error:
                        if error.code in (401, 403):  # up, but it refuses our token: no retry
                            raise RuntimeError(f"JupyterLab refused the token: {error}") from None
                        time.sleep(0.25)
                    except (OSError, ValueError):
                        time.sleep(0.25)
                else:
                    reason = "exited" if process.poll() is not None else "did not answer"
                    failures.append(
                        f"JupyterLab {reason} on port {port} within {start_timeout:.0f} s:\n"
                        + log_path.read_text(errors="replace")[-3000:]
                    )
                    continue
                try:
                    yield base
                finally:
                    _stop(process, base)
                return
            finally:
                _stop(process, None)
        raise RuntimeError("\n\n".join(failures))


def kernelspec_argv(base: str, name: str = "python3") -> list[str]:
    """The command line the server at ``base`` starts the kernel ``name`` with."""
    specs = _get(lab_url(base, "api/kernelspecs"))
    return specs["kernelspecs"][name]["spec"]["argv"]


def _notebook_state(page: Any) -> dict[str, Any]:
    """The open notebook's prompts, kernel status and error tracebacks, read from the DOM."""
    return page.evaluate(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            if (!panel) return {prompts: [], status: null, errors: []};
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(e => e.textContent.trim());
            const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            const errors = [...panel.querySelectorAll(
                    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.textContent)
                .filter(t => t.includes('Traceback') || /^\\s*-{10,}/.test(t));
            return {prompts, status: indicator && indicator.dataset.status, errors};
        }"""
    )


def wait_kernel_idle(page: Any, timeout: float = 120.0, settle: float = 0.5) -> None:
    """Wait until the open notebook's kernel is connected and ``idle`` for ``settle`` seconds.

    The toolbar's execution indicator says ``idle`` for a moment before any kernel is
    attached (kernel name "No Kernel"), then ``initializing``, ``connecting``, ``unknown``:
    only idle with a kernel name, and still idle ``settle`` seconds later, counts.
    """
    deadline = time.monotonic() + timeout
    since: float | None = None
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
                const name = panel && panel.querySelector('.jp-Toolbar-kernelName');
                return {status: indicator && indicator.dataset.status,
                        kernel: name && name.textContent.trim()};
            }"""
        )
        ready = state["status"] == "idle" and state["kernel"] not in (None, "", "No Kernel")
        now = time.monotonic()
        if not ready:
            since = None
        elif since is None:
            since = now
        elif now - since >= settle:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the kernel was not idle within {timeout:.0f} s: {state}")


def _run_all(page: Any) -> None:
    """Run → Run All Cells from the menu bar; the command palette if the menu fails."""
    try:
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click(timeout=10_000)
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click(timeout=10_000)
    except Exception:
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input")
        palette.fill("Run All Cells")
        page.locator(".lm-CommandPalette-item", has_text="Run All Cells").first.click()


def run_notebook_in_lab(
    page: Any, url: str, notebook_name: str, timeout: float = 300.0
) -> list[str]:
    """Open ``notebook_name`` in JupyterLab at ``url``, run all cells, wait for all to finish.

    Returns the code cells' prompts (``[1]:`` ...). Raises ``RuntimeError`` with the
    traceback shown in the notebook if a cell fails, ``TimeoutError`` past ``timeout``.
    """
    page.goto(lab_url(url, f"lab/tree/{notebook_name}"), wait_until="domcontentloaded")
    page.wait_for_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell", timeout=120_000
    )
    wait_kernel_idle(page)
    # Focus the notebook (command mode) so that menu commands target it.
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click(
        position={"x": 2, "y": 2}
    )
    _run_all(page)
    deadline = time.monotonic() + timeout
    state = _notebook_state(page)
    started = False
    while time.monotonic() < deadline:
        state = _notebook_state(page)
        prompts = state["prompts"]
        if prompts and all(_PROMPT_DONE.match(p) for p in prompts):
            return prompts
        running = any(p.startswith("[*]") for p in prompts)
        started = started or running or state["status"] == "busy"
        if state["errors"] and not running:
            raise RuntimeError("a notebook cell failed:\n" + "\n".join(state["errors"])[-4000:])
        if not started and time.monotonic() > deadline - timeout + 20:
            _run_all(page)  # the first Run All did not take (focus was elsewhere): again
            started = True
        time.sleep(0.5)
    raise TimeoutError(f"cells did not all run within {timeout:.0f} s: {state}")
