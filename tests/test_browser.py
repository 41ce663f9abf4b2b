"""End-to-end: JupyterLab in Debian's Chromium runs notebook 05, then a learner's session with the playground.

On a 1280x800 screen: Run and the preview fit together, every control has a real tooltip, a slider moves and
Run changes the preview, the full-size stage goes on from the stylised quick preview, and a picture over the
server's 10 MiB message limit gets a clear message while the upload button keeps working.

Needs /usr/bin/chromium (``bash scripts/install_browser.sh``) and Playwright for Python; Playwright drives
the system browser through ``executable_path`` and downloads nothing. Skipped when either is missing,
except under CI (the environment variable ``CI`` set), where that is a failure.
Set ``NST_BROWSER_ARTIFACTS`` to a folder to keep screenshots and the server log.
"""

import base64
import hashlib
import io
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

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import chromium  # noqa: E402
from chromium import CHROMIUM  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "05_style_weights_playground.ipynb"
VIEWPORT = {"width": 1280, "height": 800}
RUN_ALL_SECONDS = 240
RUN_SECONDS = 120
MESSAGE_LIMIT = 10 * 2**20  # tornado's default websocket_max_message_size, which this test's server keeps

READ_PREVIEW = """async () => {
    const img = document.querySelector('img.nst-preview');
    if (!img || !img.src) return null;
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return {src: img.src, data: btoa(text), label: document.querySelector('.nst-progress-label').textContent,
            status: document.querySelector('.nst-status').textContent};
}"""

CELLS_STATE = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
    const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
    const errors = [...document.querySelectorAll(stderr)]
        .map(e => e.textContent).filter(t => /Error|Traceback/.test(t));
    return {prompts, errors};
}"""

LAYOUT = """() => {
    const root = document.querySelector('.nst-playground');
    const box = (selector) => {
        const r = root.querySelector(selector).getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    };
    return {run: box('.nst-run'), preview: box('img.nst-preview'),
            tracks: [...root.querySelectorAll('.noUi-target')].map(e => e.getBoundingClientRect().width),
            nulls: [...root.querySelectorAll('[title="null"]')].length,
            titled: [...root.querySelectorAll('[title]')].filter(e => e.getAttribute('title')).length,
            viewport: {width: window.innerWidth, height: window.innerHeight}};
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
    """A copy of the notebook and the images, and Jupyter folders of its own; returns the server's environment.

    The kernel imports ``helpers`` from this checkout (``PYTHONPATH``), whatever is installed, and keeps its
    result cache in the temporary folder (``NST_CACHE``).
    """
    (tmp / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp / "notebooks" / NOTEBOOK)
    shutil.copytree(ROOT / "data", tmp / "data")
    tracker = tmp / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = tmp / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(
        os.environ,
        NST_FAST="1",
        NST_DATA=str(tmp / "data"),
        NST_CACHE=str(tmp / "cache"),
        MPLBACKEND="Agg",
        PYTHONPATH=python_path,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _start_server(tmp: Path, env: dict[str, str], port: int, token: str) -> subprocess.Popen:
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
    with (tmp / "server.log").open("wb") as log:  # the server keeps its own copy of the file
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
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: no dialog, nothing to do
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


def _status(page) -> str:
    return page.inner_text(".nst-status")


def _wait_for_status(page, words: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _status(page)
        if words in status:
            return status
        assert "Error" not in status, status
        time.sleep(0.3)
    raise AssertionError(f"the status never said {words!r} within {timeout:.0f} s; it says {_status(page)!r}")


def _wait_for_new_result(page, caption: str, timeout: float) -> dict:
    """Wait until the gallery's newest entry has ``caption`` in it, then read the preview."""
    deadline = time.monotonic() + timeout
    newest = page.locator(".nst-gallery .widget-html").first
    while time.monotonic() < deadline:
        status = _status(page)
        assert "Error" not in status, status
        if newest.count() and caption in newest.inner_text():
            return page.evaluate(READ_PREVIEW)
        time.sleep(0.5)
    raise AssertionError(f"no result with {caption!r} within {timeout:.0f} s; status: {_status(page)!r}")


def _digest(preview: dict) -> str:
    return hashlib.sha256(preview["data"].encode()).hexdigest()


def _pixels(preview: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(preview["data"]))).convert("RGB"), dtype=np.float32) / 255


def _distance(preview: dict, photo: Image.Image) -> float:
    """Mean colour distance (0-1) between the preview and the photo scaled to the preview's size."""
    shown = _pixels(preview)
    reference = np.asarray(photo.resize(shown.shape[1::-1], Image.Resampling.BICUBIC), dtype=np.float32) / 255
    return float(np.abs(shown - reference).mean())


def _noise_png(path: Path, side: int) -> Path:
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_a_session_with_the_playground(tmp_path):
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
            browser = chromium.launch(playwright)
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(60_000)
            try:
                _open_and_run_all(page, port, token)
                _check_layout(page, artifacts)
                _slider_and_run_change_the_preview(page)
                _the_full_size_stage_goes_on_from_the_quick_preview(page)
                _a_large_upload_is_scaled_and_the_button_keeps_working(page, tmp_path)
            finally:
                if artifacts is not None:
                    artifacts.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(artifacts / "playground-end.png"), full_page=False)
                browser.close()
    finally:
        _stop_server(server)
        if artifacts is not None:
            shutil.copy(tmp_path / "server.log", artifacts / "server.log")


def _open_and_run_all(page, port: int, token: str) -> None:
    page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    _accept_kernel_dialog(page, wait=5)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    _accept_kernel_dialog(page, wait=3)
    prompts = _wait_for_all_cells(page, RUN_ALL_SECONDS)
    assert len(prompts) >= 10


def _check_layout(page, artifacts: Path | None) -> None:
    """At 1280x800 the Run button and the whole preview are on screen together; sliders and tooltips are usable."""
    page.locator("img.nst-preview").scroll_into_view_if_needed()
    layout = page.evaluate(LAYOUT)
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / "playground-1280x800.png"))
    width, height = layout["viewport"]["width"], layout["viewport"]["height"]
    assert (width, height) == (1280, 800)
    for name in ("run", "preview"):
        box = layout[name]
        assert 0 <= box["left"] and box["right"] <= width and 0 <= box["top"] and box["bottom"] <= height, (name, box)
    assert layout["preview"]["bottom"] - layout["preview"]["top"] > 100
    assert len(layout["tracks"]) == 7 and min(layout["tracks"]) >= 200, layout["tracks"]
    assert layout["nulls"] == 0 and layout["titled"] >= 30, layout


def _slider_and_run_change_the_preview(page) -> None:
    before = page.evaluate(READ_PREVIEW)
    assert before is not None, "the playground's preview image did not render"
    # the notebook's last set_settings (section 8) is what the controls show, not an earlier value sent back
    assert page.inner_text(".nst-ratio-readout") == "0.1" and page.inner_text(".nst-readout-relu1_1") == "10"
    slider = page.locator(".nst-weight-relu2_1")
    slider.locator(".noUi-handle").first.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")  # ten steps of 0.05 on the log scale: 10**0.5
    page.wait_for_function(
        "() => document.querySelector('.nst-readout-relu2_1').textContent === '3.16'", timeout=10_000
    )
    page.locator(".nst-on-relu5_1 input").click()
    page.locator("button.nst-run").click()
    after = _wait_for_new_result(page, "α/β 0.1 · layers 10/3.16228/1/1/off ", RUN_SECONDS)
    assert after["src"] != before["src"] and _digest(after) != _digest(before), "the preview's image did not change"


def _the_full_size_stage_goes_on_from_the_quick_preview(page) -> None:
    """A 256 px run: the previews of the full-size stage stay as far from the photo as the quick result was."""
    page.locator(".nst-size select").select_option("256")
    steps = page.locator(".nst-steps input")
    steps.fill("12")
    steps.press("Enter")
    page.locator("button.nst-run").click()
    photo = Image.open(ROOT / "data" / "chelsea.png").convert("RGB")
    quick, full, deadline = None, [], time.monotonic() + RUN_SECONDS
    while len(full) < 3 and time.monotonic() < deadline:
        preview = page.evaluate(READ_PREVIEW)
        if not preview["label"].startswith("full size"):
            quick = preview if preview["label"].startswith("quick preview") else quick
        elif quick is not None and (not full or _digest(preview) != _digest(full[-1])):
            full.append(preview)
        time.sleep(0.2)
    assert quick is not None and len(full) >= 1, "the run showed no quick preview followed by the full-size stage"
    quick_distance = _distance(quick, photo)
    full_distances = [_distance(preview, photo) for preview in full]
    assert quick_distance > 0.04, quick_distance
    assert min(full_distances) > 0.6 * quick_distance, (quick_distance, full_distances)
    assert "left" in full[-1]["label"] or "timing" in full[-1]["label"], full[-1]["label"]
    _wait_for_status(page, "done in", RUN_SECONDS)


def _a_large_upload_is_scaled_and_the_button_keeps_working(page, tmp: Path) -> None:
    big = _noise_png(tmp / "phone_photo.png", 2000)
    assert big.stat().st_size > MESSAGE_LIMIT
    with page.expect_file_chooser() as chooser:
        page.locator(".nst-upload").click()
    chooser.value.set_files(str(big))
    note = page.locator(".nst-upload-note")
    page.wait_for_function(
        "() => /scaled in the browser/.test(document.querySelector('.nst-upload-note').textContent)", timeout=30_000
    )
    assert "phone_photo.png is 11.5 MiB" in note.inner_text() and "1024x1024" in note.inner_text()
    _wait_for_status(page, "phone_photo.jpg is now the content picture", 30)
    small = tmp / "small.png"
    Image.fromarray(np.full((48, 64, 3), (250, 30, 30), dtype=np.uint8)).save(small)
    with page.expect_file_chooser() as chooser:
        page.locator(".nst-upload").click()
    chooser.value.set_files(str(small))
    _wait_for_status(page, "small.png is now the content picture", 30)
    content = page.locator(".nst-playground select").first
    shown = content.evaluate("select => select.options[select.selectedIndex].textContent")
    assert shown.replace("\xa0", " ") == "upload: small.png"
