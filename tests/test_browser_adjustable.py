"""End-to-end: JupyterLab in Debian's Chromium runs notebook 07 in fast mode; a layer slider and the α/β slider each
change the preview within two seconds.

Needs /usr/bin/chromium (``bash scripts/install_browser.sh``) and Playwright for Python, which drives the system
browser through ``executable_path`` and downloads nothing. Skipped when either is missing, except under CI (the
environment variable ``CI`` set), where that is a failure. ``NST_BROWSER_ARTIFACTS`` names a folder for
screenshots and the server log.
"""

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import chromium  # noqa: E402
from chromium import CHROMIUM  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "07_adjustable_style_transfer.ipynb"
RUN_ALL_SECONDS = 150
ANSWER_MS = 2000
PREVIEW_SRC = "() => document.querySelector('img.nst-adj-preview')?.src ?? null"
STATE = """() => ({
    prompts: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim()),
    errors: [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.textContent).filter(t => /Error|Traceback/.test(t)),
})"""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings(folder: Path, plugin: str, name: str, values: dict) -> None:
    path = folder / "@jupyterlab" / plugin
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.jupyterlab-settings").write_text(json.dumps(values))


def _server(tmp: Path) -> tuple[subprocess.Popen, int, str]:
    """JupyterLab on 127.0.0.1 with a random token, over a copy of the notebook and the images."""
    (tmp / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp / "notebooks" / NOTEBOOK)
    shutil.copytree(ROOT / "data", tmp / "data")
    _settings(tmp / "lab-settings", "notebook-extension", "tracker", {"windowingMode": "none"})
    _settings(
        tmp / "lab-settings", "apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False}
    )
    env = dict(
        os.environ,
        NST_FAST="1",
        NST_DATA=str(tmp / "data"),
        MPLBACKEND="Agg",
        OMP_WAIT_POLICY="PASSIVE",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp}",
        "--ServerApp.allow_root=True",
    ]
    with open(tmp / "server.log", "wb") as log:  # the server keeps its own copy of the file
        server = subprocess.Popen(
            command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with {server.returncode}:\n{(tmp / 'server.log').read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return server, port, token
        except OSError:
            time.sleep(0.5)
    _stop(server)
    raise RuntimeError(f"jupyter lab did not answer within 90 s:\n{(tmp / 'server.log').read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def _accept_kernel_dialog(page, wait: float) -> None:
    from playwright.sync_api import TimeoutError as NoDialog

    dialog = page.locator(".jp-Dialog")
    try:
        dialog.wait_for(state="visible", timeout=wait * 1000)
    except NoDialog:
        return
    if "Kernel" in dialog.inner_text():
        dialog.locator("button.jp-mod-accept").click()
        dialog.wait_for(state="hidden", timeout=10_000)


def _run_all(page, port: int, token: str) -> list[str]:
    page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    _accept_kernel_dialog(page, wait=5)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    _accept_kernel_dialog(page, wait=3)
    deadline, state = time.monotonic() + RUN_ALL_SECONDS, {}
    while time.monotonic() < deadline:
        state = page.evaluate(STATE)
        if state["errors"]:
            raise AssertionError("a notebook cell failed in the browser:\n" + state["errors"][0][-2000:])
        if state["prompts"] and all(p.startswith("[") and p[1:-2].isdigit() for p in state["prompts"]):
            return state["prompts"]
        time.sleep(1)
    raise AssertionError(f"the notebook did not finish within {RUN_ALL_SECONDS} s; prompts: {state.get('prompts')}")


def _nudge(page, selector: str, key: str, presses: int) -> float:
    """Press ``key`` on a slider's handle; return the seconds until the preview's image changed."""
    before = page.evaluate(PREVIEW_SRC)
    handle = page.locator(f"{selector} .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    start = time.monotonic()
    for _ in range(presses):
        page.keyboard.press(key)
    page.wait_for_function(f"(before) => ({PREVIEW_SRC})() !== before", arg=before, timeout=ANSWER_MS)
    return time.monotonic() - start


def test_sliders_change_the_preview_at_once(tmp_path):
    _require(CHROMIUM.is_file(), f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "Playwright for Python is not installed: `pip install playwright` (no browser download needed)")
    artifacts = Path(os.environ["NST_BROWSER_ARTIFACTS"]) if os.environ.get("NST_BROWSER_ARTIFACTS") else None
    server, port, token = _server(tmp_path)
    try:
        with sync_playwright() as playwright:
            browser = chromium.launch(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            try:
                assert len(_run_all(page, port, token)) >= 20
                page.locator("img.nst-adj-preview").scroll_into_view_if_needed()
                assert page.evaluate(PREVIEW_SRC), "the adjustable widget's preview did not render"
                layer = _nudge(page, ".nst-adj-weight-relu1_1", "ArrowRight", 4)
                ratio = _nudge(page, ".nst-adj-ratio", "ArrowLeft", 4)
                assert layer < ANSWER_MS / 1000 and ratio < ANSWER_MS / 1000
                assert "ms for" in page.inner_text(".nst-adj-latency")
            finally:
                if artifacts is not None:
                    artifacts.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(artifacts / "adjustable.png"), full_page=False)
                browser.close()
    finally:
        _stop(server)
        if artifacts is not None:
            shutil.copy(tmp_path / "server.log", artifacts / "adjustable-server.log")
