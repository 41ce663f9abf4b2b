"""Debian's Chromium as every browser check of the project starts it: the system binary that
``scripts/install_browser.sh`` installs, headless, with nothing that reaches the network on its own.

Used by ``scripts/lecture_handout.py`` (the printed handout) and the browser tests (``tests/test_browser*.py``,
``tests/test_slides.py``); Playwright drives it through ``executable_path`` and downloads no browser of its own.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright, extra_flags: list[str] | None = None):
    """A headless ``Browser`` from Playwright's ``sync_playwright()`` object, on the system Chromium."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS + list(extra_flags or [])
    )
