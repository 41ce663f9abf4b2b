"""The lecture build's pieces that need no kernel and no browser: cache keys, timings, assets, handout, decks."""

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import lecture
import lecture_assets
import lecture_decks
import lecture_exec
import lecture_handout


@pytest.fixture
def tree(tmp_path):
    for folder in ("helpers", "data"):
        (tmp_path / folder).mkdir()
    (tmp_path / "helpers" / "a.py").write_text("x = 1\n")
    (tmp_path / "data" / "image.png").write_bytes(b"\x89PNG")
    return tmp_path


def _notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def test_cache_key_follows_sources_helpers_data_and_mode(tree):
    nb = _notebook("x = 1")
    key = lecture_exec.source_key(nb, tree, "fast")
    nb.cells[0].metadata["slideshow"] = {"slide_type": "slide"}  # metadata does not change outputs
    assert lecture_exec.source_key(nb, tree, "fast") == key
    assert lecture_exec.source_key(nb, tree, "full") != key
    assert lecture_exec.source_key(_notebook("x = 2"), tree, "fast") != key
    (tree / "helpers" / "a.py").write_text("x = 2\n")
    changed = lecture_exec.source_key(nb, tree, "fast")
    assert changed != key
    (tree / "data" / "image.png").write_bytes(b"\x89PNG2")
    assert lecture_exec.source_key(nb, tree, "fast") != changed


def test_cell_times_come_from_nbclient_timestamps():
    nb = _notebook("a = 1", "b = 2")
    nb.cells[0].metadata["execution"] = {
        "iopub.execute_input": "2026-01-01T10:00:00.000000Z",
        "shell.execute_reply": "2026-01-01T10:00:21.500000Z",
    }
    assert lecture_exec.cell_times(nb) == [{"cell": 0, "seconds": 21.5, "first_line": "a = 1"}]


def test_timings_markdown_names_cells_over_twenty_seconds():
    report = {"mode": "fast", "built": "today", "machine": "2 CPU cores", "notebooks": {
        "04.ipynb": {"wall_s": 100, "cpu_s": 90, "peak_rss_mb": 1500, "cells": [
            {"cell": 54, "seconds": 60.2, "first_line": "RATIOS = [0.01]"},
            {"cell": 3, "seconds": 1.0, "first_line": "x"}]}}}  # fmt: skip
    text = lecture.timings_markdown(report)
    assert "| `04.ipynb` | 100 | 90 | 1500 | 60.2: `RATIOS = [0.01]` | cell 54 (60) |" in text
    assert "54.9 GiB" in text  # 30 x 1500 MiB x 1.25


def test_missing_reveal_without_npm_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(lecture_assets.shutil, "which", lambda name: None)
    with pytest.raises(lecture_assets.AssetError, match="not cached .* npm is not installed"):
        lecture_assets.reveal_tarball(tmp_path / "cache")


def test_a_tampered_tarball_is_refetched(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"reveal.js-{lecture_assets.REVEAL_VERSION}.tgz").write_bytes(b"not reveal.js")
    monkeypatch.setattr(lecture_assets.shutil, "which", lambda name: None)
    with pytest.raises(lecture_assets.AssetError):
        lecture_assets.reveal_tarball(cache)


def test_mathjax_comes_from_the_installed_package():
    folder = lecture_assets.mathjax_folder()
    assert (folder / "MathJax.js").is_file() and (folder / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()


def test_handout_has_the_tables_and_formulas(tmp_path):
    path = lecture_handout.render(tmp_path / "handout.html", "mathjax/MathJax.js", "fast")
    html = path.read_text()
    assert html.count("<table>") >= 4
    for text in (
        "E_l = \\frac{1}{4 N_l^2 M_l^2}",
        "relu4_2",
        "1.02e9",
        "256 × 256",
        "helpers.units.conversion_rows",
        "source article, α = 1",
    ):
        assert text in html, text
    assert "https://" not in html.split("<body>", 1)[0]


def test_count_pages_reads_chromium_pdfs(tmp_path):
    pdf = tmp_path / "two.pdf"
    pdf.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 2 >>\n2 0 obj << /Type /Page >>\n3 0 obj << /Type /Page>>"
    )
    assert lecture_handout.count_pages(pdf) == 2


def test_deck_export_is_offline_and_keeps_its_slides(tmp_path):
    source = nbformat.v4.new_notebook()
    source.cells = [nbformat.v4.new_markdown_cell("# Title\n\n$x^2$"), nbformat.v4.new_code_cell("1 + 1"),
                    nbformat.v4.new_markdown_cell("## Next")]  # fmt: skip
    for cell, kind in zip(source.cells, ["slide", "-", "slide"]):
        cell.metadata["slideshow"] = {"slide_type": kind}
    executed = nbformat.from_dict(source)
    executed.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    deck = lecture_decks.deck_notebook(source, executed)
    assert deck.cells[1].outputs[0]["data"]["text/plain"] == "2"
    static = tmp_path / "slides" / "_static"
    static.mkdir(parents=True)
    path = tmp_path / "slides" / "deck.slides.html"
    urls = {"reveal": "reveal.js", "mathjax": "mathjax/MathJax.js?config=x"}
    assert lecture_decks.write_deck(deck, path, static, urls) == 2
    html = path.read_text()
    assert 'src="_static/reveal.js/dist/reveal.js"' in html and 'src="_static/mathjax/MathJax.js?config=x"' in html
    assert not lecture_decks.NETWORK.search(html)


def test_copied_tree_without_helpers_fails_loudly(tmp_path):
    shutil.copytree(ROOT / "data", tmp_path / "data")
    with pytest.raises(FileNotFoundError):
        lecture_exec.source_key(_notebook("x"), tmp_path, "fast")
