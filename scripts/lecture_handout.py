"""The printable two-page handout: a Jinja template of Markdown, filled from ``helpers``, rendered to HTML.

The layer table comes from ``helpers.analysis.layer_table``, the series' weights from ``helpers.stylize``'s
defaults, and the numbers of the unit conversion from ``helpers.units``.
MathJax is the decks' local copy; ``to_pdf`` prints the page with Chromium to count its A4 pages.
"""

from __future__ import annotations

import inspect
import os
import re
import time
from pathlib import Path

import chromium
import jinja2
import mistune
from chromium import CHROMIUM

SOURCE = Path(__file__).resolve().parents[1] / "lecture_src"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
ARTICLE_WEIGHTS = {"relu1_1": 1.0, "relu2_1": 0.75, "relu3_1": 0.2, "relu4_1": 0.2, "relu5_1": 0.2}


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}".replace("e+0", "e").replace("e+", "e")


def _conversion(helpers, size: int) -> str:
    """The sample pair's conversion table between the paper's, the source article's and balanced units."""
    from helpers import units

    content = helpers.load_image(helpers.data_dir() / "chelsea.png", max_size=size)
    style = helpers.load_image(helpers.data_dir() / "starry_night.jpg", max_size=size)
    paper = units.conversion_rows(units.term_scales(helpers.load_vgg19("caffe-normalized"), content, style))[:2]
    others = units.conversion_rows(units.term_scales(helpers.load_vgg19(), content, style))[2:]
    headers = ["setting", "α/β as written", "α/β in balanced units", *(f"`{name}` share" for name in STYLE_LAYERS)]
    table = helpers.analysis.markdown_table(paper + others, headers)
    return (
        f"The sample pair `chelsea.png` and `starry_night.jpg` at {size} px (`helpers.units.conversion_rows`; the "
        f"paper's rows through the normalised network, as in notebook 04):\n\n{table}"
    )


def _defaults(helpers) -> dict[str, str]:
    parameters = inspect.signature(helpers.stylize).parameters
    value = {name: parameters[name].default for name in parameters if parameters[name].default is not inspect._empty}

    def layers(spec) -> str:
        names = [spec] if isinstance(spec, str) else list(spec)
        return ", ".join(f"`{name}`" for name in names)

    return {
        "content_layers": layers(value.get("content_layers", "relu4_2")).strip("`"),
        "style_layers": layers(value.get("style_layers", STYLE_LAYERS)),
        **{key: _number(value[key]) for key in ("content_weight", "style_weight", "tv_weight") if key in value},
        **{key: str(value.get(key, "")) for key in ("optimizer", "init", "pooling")},
    }


def context(size: int = 256, mode: str = "") -> dict:
    import helpers
    import helpers.analysis

    rows = helpers.analysis.layer_table(size, deepest="relu5_4")
    layers = []
    for row in rows:
        if not row.name.startswith(("relu", "pool")):
            continue
        role = "content" if row.name == "relu4_2" else "style" if row.name in STYLE_LAYERS else ""
        layers.append({**row.__dict__, "positions": row.positions, "role": role})
    by_name = {row.name: row for row in rows}
    article = [
        {
            "name": name,
            "channels": by_name[name].channels,
            "positions": by_name[name].positions,
            "ratio": _number(by_name[name].positions / by_name[name].channels),
            "weight": weight,
            "effective": _number(1e6 * weight * by_name[name].positions / by_name[name].channels),
        }
        for name, weight in ARTICLE_WEIGHTS.items()
    ]
    content = by_name["relu4_2"]
    return {
        "size": size,
        "layers": layers,
        "article_rows": article,
        "content": content,
        "paper_to_raw": 2 * content.channels * content.positions,
        "conversion": _conversion(helpers, size),
        "defaults": _defaults(helpers),
        "built": time.strftime("%Y-%m-%d"),
        "mode": mode or "full size",
    }


def render(path: Path, mathjax_url: str, mode: str = "") -> Path:
    """Write the handout's HTML to ``path``."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(SOURCE), keep_trailing_newline=True)
    markdown = environment.get_template("handout.md.j2").render(**context(mode=mode))
    body = mistune.create_markdown(plugins=["table", "math"], escape=False)(markdown)
    html = environment.get_template("handout.html.j2").render(body=body, mathjax_url=mathjax_url)
    path.write_text(html, encoding="utf-8")
    return path


def to_pdf(html: Path, pdf: Path, paper: str = "A4") -> int | None:
    """Print ``html`` with Chromium (no network) to ``pdf``; returns the page count, None without a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.is_file():
        return None
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        try:
            page = browser.new_page()
            page.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
            page.goto(html.resolve().as_uri())
            page.wait_for_function("document.documentElement.dataset.nstReady === '1'", timeout=60_000)
            page.pdf(path=str(pdf), format=paper, print_background=True, prefer_css_page_size=False)
        finally:
            browser.close()
    return count_pages(pdf)


def count_pages(pdf: Path) -> int:
    """Pages in a PDF as Chromium writes it (one ``/Type /Page`` object per page)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


def mathjax_relative(static: Path, html_dir: Path, url: str) -> str:
    return f"{Path(os.path.relpath(static, html_dir)).as_posix()}/{url}"
