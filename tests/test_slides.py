"""The lecture build's decks and handout in Debian's Chromium with the network blocked.

Builds the lecture kit in fast mode (``scripts/lecture.py --fast --reuse``) into a temporary folder, or into
``NST_LECTURE_DIR`` when set (a second run there reuses the executed notebooks and takes seconds). Each deck
is walked slide by slide: a sensible number of slides, every slide's content inside the 1280 x 720 frame,
mathematics typeset by MathJax (no raw ``$`` or ``\\frac`` left in the text), no request that leaves the
machine. The handout must print on at most two A4 (and two Letter) pages. Skipped without /usr/bin/chromium
or Playwright, except under CI, where that is a failure. Screenshots go to ``NST_BROWSER_ARTIFACTS`` if set.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import chromium
import lecture_handout
from chromium import CHROMIUM

OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND"]  # no page may fetch from the network
WIDTH, HEIGHT = 1280, 720
MIN_SLIDES, MAX_SLIDES = 8, 100  # 02, the longest lesson, makes about 80
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))

SLIDES = """() => [...document.querySelectorAll('.reveal .slides section')].filter(s => !s.querySelector('section'))
    .map(s => ({h: s.scrollHeight, w: s.scrollWidth, fit: s.dataset.nstFit || '', ix: Reveal.getIndices(s),
                text: s.innerText.trim().slice(0, 60)}))"""

RAW_MATH = """() => {
    const found = [];
    const prose = '.jp-MarkdownCell, .jp-RenderedMarkdown, body > p, body li, body td';
    for (const cell of document.querySelectorAll(prose)) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT, {acceptNode: n =>
            n.parentElement.closest('code, pre, script, style, .MathJax, .MathJax_Display, .MathJax_Preview')
                ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            if (/\\$[^$\\s][^$]*\\$|\\\\(frac|sum|mathcal|operatorname|hat|begin)\\b/.test(n.textContent)) {
                found.push(n.textContent.trim().slice(0, 80));
            }
        }
    }
    return found;
}"""
MATH_COUNT = "document.querySelectorAll('.MathJax, .MathJax_Display').length"


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    _require(CHROMIUM.is_file(), f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh`")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require(False, "Playwright for Python is not installed: `pip install playwright` (no browser download needed)")
    out = (
        Path(os.environ["NST_LECTURE_DIR"]) if os.environ.get("NST_LECTURE_DIR") else tmp_path_factory.mktemp("lecture")
    )
    command = [sys.executable, str(ROOT / "scripts" / "lecture.py"), "--fast", "--reuse", "--no-pdf", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, f"the lecture build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    for name in NOTEBOOKS:
        assert (out / "executed" / f"{name}.ipynb").is_file() and (out / "student" / f"{name}.ipynb").is_file()
        assert (out / "solutions" / f"{name}.md").is_file()
    return out


@pytest.fixture(scope="module")
def browser(build):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = chromium.launch(playwright, OFFLINE)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.set_default_timeout(60_000)
    page.remote_requests = []
    page.route(re.compile(r"^(?!file:|data:|blob:|about:)"), lambda route: (
        page.remote_requests.append(route.request.url), route.abort()))  # fmt: skip
    yield page
    page.close()


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ["NST_BROWSER_ARTIFACTS"]) if os.environ.get("NST_BROWSER_ARTIFACTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_deck_renders_offline_and_every_slide_fits(build, page, name, tmp_path):
    artifacts = _artifacts(tmp_path)
    page.goto((build / "slides" / f"{name}.slides.html").as_uri())
    page.wait_for_function("document.documentElement.dataset.nstReady === '1'")
    total = page.evaluate("Reveal.getTotalSlides()")
    assert MIN_SLIDES <= total <= MAX_SLIDES, f"{name}: {total} slides"
    slides = page.evaluate(SLIDES)
    assert len(slides) == total
    too_big = [s for s in slides if s["h"] > HEIGHT + 1 or s["w"] > WIDTH + 1 or "scroll" in s["fit"].split()]
    assert not too_big, f"{name}: slides taller or wider than the {WIDTH}x{HEIGHT} frame: {too_big}"
    zoomed = [float(f[5:]) for s in slides for f in s["fit"].split() if f.startswith("zoom:")]
    assert all(z >= 0.7 for z in zoomed) and len(zoomed) <= total // 4, f"{name}: text shrunk too often: {zoomed}"

    page.evaluate("Reveal.slide(0, 0, -1)")
    visited, steps = {tuple(page.evaluate("[Reveal.getIndices().h, Reveal.getIndices().v]"))}, 0
    while not (page.evaluate("Reveal.isLastSlide()") and page.evaluate("!Reveal.availableFragments().next")):
        page.evaluate("Reveal.next()")
        visited.add(tuple(page.evaluate("[Reveal.getIndices().h, Reveal.getIndices().v]")))
        steps += 1
        assert steps < 10 * total, f"{name}: the walk does not end"
        if len(visited) <= 3 or os.environ.get("NST_BROWSER_ARTIFACTS"):
            page.screenshot(path=str(artifacts / f"{name}_{len(visited):02d}.png"))
    assert len(visited) == total, f"{name}: walked {len(visited)} of {total} slides"

    if name != "00_start_here":
        assert page.evaluate(MATH_COUNT) > 0, f"{name}: MathJax typeset nothing"
    assert page.evaluate("document.documentElement.dataset.nstMath") == "mathjax"
    raw = page.evaluate(RAW_MATH)
    assert not raw, f"{name}: LaTeX left untypeset: {raw[:5]}"
    assert page.remote_requests == [], f"{name}: tried the network: {page.remote_requests[:5]}"


def test_handout_prints_on_two_pages_with_its_maths(build, page, tmp_path):
    artifacts = _artifacts(tmp_path)
    page.goto((build / "handout.html").as_uri())
    page.wait_for_function("document.documentElement.dataset.nstReady === '1'")
    assert page.evaluate(MATH_COUNT) > 20
    assert page.evaluate(RAW_MATH) == []
    assert page.locator("table").count() >= 4
    page.screenshot(path=str(artifacts / "handout.png"), full_page=True)
    for paper in ("A4", "Letter"):
        pdf = artifacts / f"handout_{paper}.pdf"
        page.pdf(path=str(pdf), format=paper, print_background=True)
        pages = lecture_handout.count_pages(pdf)
        assert 1 <= pages <= 2, f"the handout takes {pages} {paper} pages"
    assert page.remote_requests == []
