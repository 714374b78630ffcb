"""The compile widget in a real browser: JupyterLab on loopback, driven by Chromium.

Runs ``notebooks/widgets.ipynb`` (``$KREG_BROWSER_NOTEBOOK`` overrides it) in JupyterLab,
picks a loss in the widget, clicks Train and waits for the plot and the full progress
bar; ``build/widget-trained.png`` is the screenshot. Skipped, with the reason, only where
Chromium (``/usr/bin/chromium``, ``$KREG_CHROMIUM``), Playwright or JupyterLab is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests import browser
from tests.conftest import ROOT

NOTEBOOK = Path(os.environ.get("KREG_BROWSER_NOTEBOOK", ROOT / "notebooks" / "widgets.ipynb"))
EPOCHS = int(os.environ.get("KREG_BROWSER_EPOCHS", "3"))  # as the notebook sets them
LOSS = "huber"
BUILD = ROOT / "build"

WIDGET = ".kreg-compile-widget"
LOSS_INPUT = ".kreg-loss input"
TRAIN = "button.kreg-train"
STATUS = ".kreg-status"
PROGRESS_BAR = ".kreg-progress .progress-bar"
PLOT = "img.kreg-plot, .kreg-plot img"


def _copy_notebook(root: Path) -> str:
    """Copy the notebook into ``root`` with the ``python3`` kernel (this interpreter)."""
    notebook = json.loads(NOTEBOOK.read_text())
    notebook.setdefault("metadata", {})["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (root / NOTEBOOK.name).write_text(json.dumps(notebook))
    return NOTEBOOK.name


@pytest.mark.browser
def test_widget_trains_in_jupyterlab(tmp_path):
    reason = browser.missing_requirements()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    assert NOTEBOOK.exists(), f"{NOTEBOOK} is missing"
    root = tmp_path / "lab"
    root.mkdir()
    name = _copy_notebook(root)
    BUILD.mkdir(exist_ok=True)

    with browser.jupyterlab_server(root) as url, sync_playwright() as playwright:
        assert browser.kernelspec_argv(url)[0] == sys.executable, "the kernel is this venv"
        chromium = playwright.chromium.launch(
            executable_path=browser.chromium_path(), headless=True, args=browser.CHROMIUM_ARGS
        )
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1800})
            try:
                browser.run_notebook_in_lab(page, url, name)
                widget = page.locator(WIDGET).first
                expect(widget).to_be_visible(timeout=60_000)
                widget.scroll_into_view_if_needed()

                loss = widget.locator(LOSS_INPUT)
                loss.fill(LOSS)  # an `input` event: the Combobox syncs its value
                loss.dispatch_event("change")
                # The value reaches the kernel before the click: a click is a custom message,
                # which would overtake a state update ipywidgets holds back while it is busy.
                browser.wait_kernel_idle(page, timeout=60)
                widget.locator(TRAIN).click()

                status = widget.locator(STATUS)
                expect(status).to_contain_text("history:", timeout=120_000)
                bar = widget.locator(PROGRESS_BAR)
                page.wait_for_function(
                    "bar => bar.style.width === '100%'", arg=bar.element_handle(), timeout=30_000
                )
                plot = widget.locator(PLOT).first
                page.wait_for_function(
                    "img => img.src && img.complete && img.naturalWidth > 0",
                    arg=plot.element_handle(),
                    timeout=30_000,
                )
                widget.scroll_into_view_if_needed()
                page.screenshot(path=str(BUILD / "widget-trained.png"), full_page=True)
            except Exception:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(BUILD / "widget-failed.png"), full_page=True)
                raise
            text = status.inner_text()
            src = plot.get_attribute("src") or ""
        finally:
            chromium.close()

    assert f"loss={LOSS}" in text, text
    assert re.search(rf"history: {EPOCHS} epochs?\b", text), text
    assert src.startswith(("blob:", "data:image/png")), src
    assert (BUILD / "widget-trained.png").read_bytes()[:4] == b"\x89PNG"
