"""The slide tagger's rules, its idempotence and its --check mode, on small notebooks made here and on the series."""

import copy
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import lecture_decks
import tag_slides

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


@pytest.fixture
def lesson():
    return _notebook(
        ("md", "# 09 · A lesson\n\nWhat you will build."),
        ("md", "## Setup\n\nImports and the device."),
        ("code", "%matplotlib inline\nimport torch\nimport helpers"),
        ("code", "FAST = helpers.fast_mode()\nSIZE = 64 if FAST else 256", "parameters"),
        ("md", "## 1 The idea\n\nA sentence."),
        ("code", "x = torch.ones(3)\nx.sum()"),
        ("md", "### 1.1 A detail"),
        ("code", "import numpy as np"),
        ("code", "fig, ax = plt.subplots()\nax.plot([1, 2])"),
        ("md", "The line rises."),
        ("md", "## Exercises\n\n**Exercise 1.** Sum it."),
        ("code", "answer_1 = ...  # a number\nanswer_1"),
        ("code", "if answer_1 is ...:\n    print('not filled in yet')\nelse:\n    helpers.check_answer(answer_1, 3.0)"),
        (
            "md",
            "<details><summary>Solution 1</summary>\n\n```python\nanswer_1 = 3.0\n```\n</details>\n\n**Exercise 2.**",
        ),
    )


def test_rules_give_each_cell_its_slide_type(lesson):
    assert tag_slides.slide_types(lesson) == [
        "slide", "skip", "skip", "skip", "slide", "-", "subslide", "skip", "-", "fragment", "slide", "-", "skip", "-",
    ]  # fmt: skip


def test_exercise_cells_are_tagged(lesson):
    tag_slides.apply(lesson)
    tags = [cell.metadata.get("tags", []) for cell in lesson.cells]
    assert tags[11] == ["exercise"] and tags[12] == ["exercise-check"] and tags[13] == ["solution"]
    assert tags[3] == ["parameters"]


def test_apply_is_idempotent_and_check_passes_after_it(lesson):
    assert tag_slides.problems(lesson) and "no slide metadata" in tag_slides.problems(lesson)[0]
    assert tag_slides.apply(lesson) == len(lesson.cells)
    once = copy.deepcopy(lesson)
    assert tag_slides.apply(lesson) == 0
    assert lesson == once
    assert tag_slides.problems(lesson) == []
    assert lesson.metadata["rise"]["width"] == 1280 and lesson.metadata["rise"]["height"] == 720


def test_check_reports_stale_metadata(lesson):
    tag_slides.apply(lesson)
    lesson.cells[5].metadata["slideshow"]["slide_type"] = "slide"
    assert tag_slides.problems(lesson) == ["cell 5: slide_type 'slide', the rules say '-'"]


def test_keep_slide_type_is_left_alone(lesson):
    lesson.cells[5].metadata["tags"] = ["keep-slide-type"]
    lesson.cells[5].metadata["slideshow"] = {"slide_type": "notes"}
    tag_slides.apply(lesson)
    assert lesson.cells[5].metadata["slideshow"]["slide_type"] == "notes"
    assert tag_slides.problems(lesson) == []


def test_a_tall_run_of_cells_is_split_into_sub_slides():
    eight_lines = "\n".join(f"a{i} = {i}" for i in range(8))
    nb = _notebook(("code", "import torch"), ("md", "## Long"), *[("code", eight_lines)] * 4)
    assert tag_slides.slide_types(nb) == ["skip", "slide", "-", "-", "subslide", "-"]


def test_check_mode_exits_non_zero_on_an_untagged_notebook(tmp_path, lesson):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(lesson, path)
    assert tag_slides.main(["--check", str(path)]) == 1
    assert tag_slides.main([str(path)]) == 0
    assert tag_slides.main(["--check", str(path)]) == 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_series_notebooks_tag_cleanly(path):
    nb = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in nb.cells]
    tag_slides.apply(nb)
    assert [cell.source for cell in nb.cells] == sources
    types = [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]
    assert types[0] == "slide"
    setup = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    assert types[setup] == "skip"
    parameters = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert parameters and all(types[i] == "skip" for i in parameters)
    assert 8 <= types.count("slide") + types.count("subslide") <= 100  # 02, the longest lesson, makes about 80


def test_markdown_blocks_keep_fences_maths_and_details_whole():
    text = (
        "A\n\n```python\nx = 1\n\ny = 2\n```\n\n$$\na\n\nb\n$$\n\n<details><summary>S</summary>\n\nz\n</details>\n\nB"
    )
    assert lecture_decks.markdown_blocks(text) == [
        "A", "```python\nx = 1\n\ny = 2\n```", "$$\na\n\nb\n$$", "<details><summary>S</summary>\n\nz\n</details>", "B",
    ]  # fmt: skip


def test_deck_splits_a_cell_at_an_inner_heading():
    cell = nbformat.v4.new_markdown_cell("The end of section 1.\n\n## 2 Next\n\nText.\n\n### 2.1 Sub\n\nMore.")
    cell.metadata["slideshow"] = {"slide_type": "-"}
    pieces = lecture_decks.split_markdown(cell)
    assert [p.source.split("\n")[0] for p in pieces] == ["The end of section 1.", "## 2 Next", "### 2.1 Sub"]
    assert [p.metadata["slideshow"]["slide_type"] for p in pieces] == ["-", "slide", "subslide"]
