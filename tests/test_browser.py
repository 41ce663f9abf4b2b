"""End-to-end: JupyterLab in Debian's Chromium runs notebook 05, a slider moves, Run changes the preview.

Needs /usr/bin/chromium (``bash scripts/install_browser.sh``) and Playwright for Python; Playwright drives
the system browser through ``executable_path`` and downloads nothing. Skipped when either is missing,
except under CI (the environment variable ``CI`` set), where that is a failure.
Set ``NST_BROWSER_ARTIFACTS`` to a folder to keep screenshots and the server log.
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "05_style_weights_playground.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_ALL_SECONDS = 240
RUN_SECONDS = 120

READ_PREVIEW = """async () => {
    const img = document.querySelector('img.nst-preview');
    if (!img || !img.src) return null;
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return {src: img.src, data: btoa(text)};
}"""

CELLS_STATE = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
    const errors = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.textContent).filter(t => /Error|Traceback/.test(t));
    return {prompts, errors};
}"""


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _workspace(tmp: Path) -> dict[str, str]:
    """A copy of the notebook and the images, and Jupyter folders of its own; returns the server's environment."""
    (tmp / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp / "notebooks" / NOTEBOOK)
    shutil.copytree(ROOT / "data", tmp / "data")
    tracker = tmp / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = tmp / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, NST_FAST="1", NST_DATA=str(tmp / "data"), MPLBACKEND="Agg",
               JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def _start_server(tmp: Path, env: dict[str, str], port: int, token: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={tmp}", "--ServerApp.allow_root=True"]
    log = open(tmp / "server.log", "wb")
    server = subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {server.returncode}:\n{(tmp / 'server.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    _stop_server(server)
    raise RuntimeError(f"jupyter lab did not answer within 90 s:\n{(tmp / 'server.log').read_text()[-3000:]}")


def _stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def _accept_kernel_dialog(page, wait: float) -> None:
    """JupyterLab may ask which kernel to start; the notebook names python3, so accept the proposal."""
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.wait_for(state="visible", timeout=wait * 1000)
    except Exception:  # Playwright's TimeoutError: no dialog, nothing to do
        return
    if "Kernel" in dialog.inner_text():
        dialog.locator("button.jp-mod-accept").click()
        dialog.wait_for(state="hidden", timeout=10_000)


def _wait_for_all_cells(page, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        state = page.evaluate(CELLS_STATE)
        if state["errors"]:
            raise AssertionError("a notebook cell failed in the browser:\n" + state["errors"][0][-2000:])
        prompts = state["prompts"]
        if prompts and all(p.startswith("[") and p[1:-2].isdigit() for p in prompts):
            return prompts
        time.sleep(1)
    raise AssertionError(f"the notebook did not finish within {timeout:.0f} s; prompts: {state.get('prompts')}")


def _wait_for_new_result(page, caption: str, timeout: float) -> dict:
    """Wait until the gallery's newest entry has ``caption`` in it, then read the preview."""
    deadline = time.monotonic() + timeout
    newest = page.locator(".nst-gallery .widget-html").first
    while time.monotonic() < deadline:
        status = page.inner_text(".nst-status")
        assert "Error" not in status, status
        if newest.count() and caption in newest.inner_text():
            return page.evaluate(READ_PREVIEW)
        time.sleep(0.5)
    raise AssertionError(f"no result with {caption!r} within {timeout:.0f} s; status: {page.inner_text('.nst-status')!r}")


def _digest(preview: dict) -> str:
    return hashlib.sha256(preview["data"].encode()).hexdigest()


def test_slider_and_run_change_the_preview(tmp_path):
    _require(CHROMIUM.is_file(), f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "Playwright for Python is not installed: `pip install playwright` (no browser download needed)")
    artifacts = Path(os.environ["NST_BROWSER_ARTIFACTS"]) if os.environ.get("NST_BROWSER_ARTIFACTS") else None
    env, port, token = _workspace(tmp_path), _free_port(), secrets.token_hex(16)
    server = _start_server(tmp_path, env, port, token)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            try:
                _drive(page, port, token)
            finally:
                if artifacts is not None:
                    artifacts.mkdir(parents=True, exist_ok=True)
                    if page.locator("img.nst-preview").count():
                        page.locator("img.nst-preview").scroll_into_view_if_needed()
                    page.screenshot(path=str(artifacts / "playground.png"), full_page=False)
                browser.close()
    finally:
        _stop_server(server)
        if artifacts is not None:
            shutil.copy(tmp_path / "server.log", artifacts / "server.log")


def _drive(page, port: int, token: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    _accept_kernel_dialog(page, wait=5)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    _accept_kernel_dialog(page, wait=3)
    prompts = _wait_for_all_cells(page, RUN_ALL_SECONDS)
    assert len(prompts) >= 10

    preview = page.locator("img.nst-preview")
    preview.scroll_into_view_if_needed()
    before = page.evaluate(READ_PREVIEW)
    assert before is not None, "the playground's preview image did not render"

    slider = page.locator(".nst-weight-relu5_1")
    assert slider.locator(".widget-readout").inner_text().strip() == "0.20"
    slider.locator(".noUi-handle").first.focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelector('.nst-weight-relu5_1 .widget-readout').textContent.trim() === '0.00'",
                           timeout=10_000)

    page.locator("button.nst-run").click()
    after = _wait_for_new_result(page, "layers 0.2/0.2/0.2/0.2/0 ", RUN_SECONDS)
    assert after["src"] != before["src"] and _digest(after) != _digest(before), "the preview's image did not change"
