"""Offline reveal.js decks from executed notebooks, through nbconvert's slides exporter and the series' template.

Before export the deck's copy of a notebook is laid out once more: a markdown cell is split where a heading
starts inside it (a new slide or sub-slide, by the heading's level) and where it is taller than one frame (at
blank lines outside code, maths and HTML blocks). The notebooks themselves are left as they are.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import nbformat
import tag_slides
from nbconvert import SlidesExporter
from traitlets.config import Config

NETWORK = re.compile(
    r"""(<script[^>]*\ssrc|<link[^>]*\shref|<img[^>]*\ssrc|@import\s+url\(|\sfrom)\s*=?\s*["']?https?://"""
)
TEMPLATES = Path(__file__).resolve().parents[1] / "lecture_src" / "templates"


def markdown_blocks(source: str) -> list[str]:
    """Top-level blocks of a markdown text: split at blank lines outside fences, ``$$`` maths and HTML blocks."""
    blocks, current, fence, math, html = [], [], False, False, 0
    for line in source.split("\n"):
        stripped = line.strip()
        if not stripped and not (fence or math or html) and current:
            blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
        if stripped.startswith("```"):
            fence = not fence
        elif not fence and stripped.count("$$") % 2 == 1:
            math = not math
        elif not fence:
            html += len(re.findall(r"<details\b", stripped)) - len(re.findall(r"</details>", stripped))
    if current:
        blocks.append("\n".join(current))
    return [block for block in blocks if block.strip()]


def split_markdown(cell) -> list:
    """The cell as one or more cells: new ones start at inner headings and where one frame is full."""
    if cell.cell_type != "markdown" or cell.metadata.get("slideshow", {}).get("slide_type") == "skip":
        return [cell]
    pieces, used = [[]], 0
    kinds = [cell.metadata.get("slideshow", {}).get("slide_type", "-")]
    for block in markdown_blocks(cell.source):
        height = tag_slides.markdown_height(block)
        level = tag_slides.heading_level(block)
        if pieces[-1] and (1 <= level <= 3 or used + height > tag_slides.BUDGET):
            pieces.append([])
            kinds.append("slide" if 1 <= level <= 2 else "subslide")
            used = 0
        pieces[-1].append(block)
        used += height
    cells = []
    for blocks, kind in zip(pieces, kinds):
        piece = copy.deepcopy(cell)
        piece.source = "\n\n".join(blocks)
        piece.metadata["slideshow"] = {**piece.metadata.get("slideshow", {}), "slide_type": kind}
        piece.pop("id", None) if cells else None
        cells.append(piece)
    return cells


def deck_notebook(tagged, executed):
    """The tagged source notebook with the executed copy's outputs, laid out for the deck."""
    if len(tagged.cells) != len(executed.cells):
        raise ValueError("the executed notebook does not have the cells of its source")
    deck = copy.deepcopy(tagged)
    for cell, done in zip(deck.cells, executed.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = done.get("outputs", []), done.get("execution_count")
    cells = []
    for cell in deck.cells:
        cells.extend(split_markdown(cell))
    deck.cells = cells
    for index, cell in enumerate(deck.cells):
        cell["id"] = f"deck-{index}"
    deck.metadata.pop("widgets", None)
    return deck


def exporter(static_prefix: str, mathjax_url: str) -> SlidesExporter:
    config = Config()
    config.SlidesExporter.reveal_url_prefix = static_prefix
    config.SlidesExporter.reveal_theme = "white"
    config.SlidesExporter.reveal_transition = "none"
    config.SlidesExporter.reveal_width = str(tag_slides.SLIDE_WIDTH)
    config.SlidesExporter.reveal_height = str(tag_slides.SLIDE_HEIGHT)
    config.SlidesExporter.mathjax_url = mathjax_url
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    config.SlidesExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.SlidesExporter.template_name = "nst_reveal"
    return SlidesExporter(config=config)


def write_deck(deck, path: Path, static: Path, urls: dict[str, str]) -> int:
    """Export ``deck`` to ``path``; the assets' URLs are made relative to the deck. Returns the slide count."""
    prefix = Path(os.path.relpath(static, path.parent)).as_posix()
    html, _ = exporter(f"{prefix}/{urls['reveal']}", f"{prefix}/{urls['mathjax']}").from_notebook_node(deck)
    remote = NETWORK.search(html)
    if remote:
        raise RuntimeError(f"{path.name} would load something from the network: {remote.group(0)[:200]}")
    path.write_text(html, encoding="utf-8")
    return count_slides(deck)


def count_slides(deck) -> int:
    """Slides plus sub-slides, as reveal.js counts them."""
    return (
        sum(cell.metadata.get("slideshow", {}).get("slide_type") in ("slide", "subslide") for cell in deck.cells) or 1
    )


def read(path: Path):
    return nbformat.read(path, as_version=4)
