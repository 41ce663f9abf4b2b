#!/usr/bin/env python3
"""Tag the notebooks' cells for slides and exercises, by rule; idempotent.

    python scripts/tag_slides.py notebooks/*.ipynb           write the metadata into the notebooks
    python scripts/tag_slides.py --check notebooks/*.ipynb   exit 1 if a notebook lacks it or it is stale

Rules (a cell tagged ``keep-slide-type`` keeps the slide type an author gave it by hand):

- the first visible cell and every cell that starts with a ``#`` or ``##`` heading start a slide,
  a ``###`` heading starts a sub-slide;
- plumbing is skipped: the ``## Setup`` heading and the prose that only introduces skipped code, the first
  code cell (imports, device, seed), the cell tagged ``parameters``, cells of imports only, and the check
  cells of the exercises;
- a cell that would push the running slide past the 16:9 frame (estimated from its source and the kind of
  output it makes) starts a sub-slide; a figure stays when it fits at 60 % of its height (the deck shrinks it);
- a short markdown cell right after a code cell on the same slide is a fragment (the reading of a result);
- exercises: a code cell with a line ``name = ...`` or ``return ...`` is tagged ``exercise``, the next code cell
  that calls ``check_answer`` ``exercise-check``, and a markdown cell with ``<details><summary>Solution``
  ``solution``.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

TAG_EXERCISE = "exercise"
TAG_CHECK = "exercise-check"
TAG_SOLUTION = "solution"
TAG_KEEP = "keep-slide-type"
TAG_PARAMETERS = "parameters"
TAG_INJECTED = "lecture-injected"
OWNED_TAGS = (TAG_EXERCISE, TAG_CHECK, TAG_SOLUTION)
RULES_VERSION = 1
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720
BUDGET = 640  # px of estimated content per sub-slide, inside the 720 px frame
RISE = {"width": SLIDE_WIDTH, "height": SLIDE_HEIGHT, "scroll": True, "center": False, "theme": "white"}

PLACEHOLDER = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<name>[A-Za-z_]\w*)\s*=\s*|return\s+)\.\.\.\s*(?:#.*)?$", re.MULTILINE
)
HEADING = re.compile(r"^(#{1,6})\s+\S")
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution", re.IGNORECASE)
FIGURE_CALLS = (
    "plt.",
    "subplots",
    "show_image",
    "image_grid",
    "imshow",
    "plot_history",
    ".plot(",
    "show_group",
    "show_gram",
    "figure_",
    "fig,",
    "fig =",
)

# Estimated heights in px at the deck's sizes (see lecture_src/templates/nst_reveal/index.html.j2).
LINE, CODE_LINE, CODE_PAD, FIGURE, TEXT_OUTPUT, TABLE_OUTPUT = 30, 22, 26, 440, 50, 300


def heading_level(source: str) -> int:
    """Level of the heading on the cell's first line, 0 when it does not start with one."""
    match = HEADING.match(source.lstrip("\n"))
    return len(match.group(1)) if match else 0


def heading_text(source: str) -> str:
    first = source.lstrip("\n").split("\n", 1)[0]
    return first.lstrip("#").strip()


def placeholder(source: str) -> re.Match | None:
    """The ``name = ...`` or ``return ...`` line of an exercise's answer cell, or None."""
    return PLACEHOLDER.search(source)


def is_solution(cell) -> bool:
    return cell.cell_type == "markdown" and bool(SOLUTION.search(cell.source))


def is_import_only(source: str) -> bool:
    try:
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body)


def makes_figure(source: str) -> bool:
    return any(call in source for call in FIGURE_CALLS)


def markdown_height(source: str) -> int:
    """A rough rendered height: lines, headings, display maths and table rows."""
    height, in_math = 0, False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("$$"):
            in_math = not in_math if stripped.count("$$") == 1 else in_math
            height += 2 * LINE
        elif in_math or not stripped:
            height += LINE // 2
        elif HEADING.match(stripped):
            height += {1: 80, 2: 64, 3: 52}.get(len(stripped) - len(stripped.lstrip("#")), 44)
        elif stripped.startswith("|"):
            height += 40 if not set(stripped) <= set("|-: ") else 0
        else:
            height += LINE * (1 + len(stripped) // 120)
    return height + LINE // 2


def code_height(source: str) -> int:
    height = CODE_PAD + CODE_LINE * len(source.rstrip().splitlines())
    if makes_figure(source):
        return height + FIGURE
    if "Markdown(" in source:
        return height + TABLE_OUTPUT
    return height + TEXT_OUTPUT


def classify(nb) -> list[dict]:
    """One record per cell: kind (plumbing/answer/check/solution/content), heading level, estimated height."""
    records, in_setup, first_code, answer_open = [], False, True, False
    for cell in nb.cells:
        source = cell.source
        tags = set(cell.metadata.get("tags", []))
        level = heading_level(source) if cell.cell_type == "markdown" else 0
        if level and level <= 2:
            in_setup = heading_text(source).lower().startswith("setup")
        kind = "content"
        if cell.cell_type == "code":
            if (
                TAG_INJECTED in tags
                or TAG_PARAMETERS in tags
                or first_code
                or "%matplotlib" in source
                or is_import_only(source)
            ):
                kind = "plumbing"
            elif placeholder(source):
                kind, answer_open = "answer", True
            elif answer_open and "check_answer(" in source:
                kind, answer_open = "check", False
            first_code = False
        elif is_solution(cell):
            kind = "solution"
        elif cell.cell_type == "raw":
            kind = "plumbing"
        if cell.cell_type == "code":
            height = code_height(source)
        elif kind == "solution":  # folded in the deck: the summary line, then any prose after </details>
            height = LINE + 10 + markdown_height(source.split("</details>", 1)[-1]) if "</details>" in source else LINE
        else:
            height = markdown_height(source)
        records.append(
            {
                "kind": kind,
                "level": level,
                "height": height,
                "in_setup": in_setup,
                "figure": cell.cell_type == "code" and makes_figure(source),
            }
        )
    for index in range(len(records) - 1, -1, -1):  # backwards: prose that only introduces skipped code is skipped
        record, following = records[index], records[index + 1] if index + 1 < len(records) else None
        if (
            nb.cells[index].cell_type == "markdown"
            and record["in_setup"]
            and record["kind"] == "content"
            and (following is None or following["kind"] == "plumbing")
        ):
            record["kind"] = "plumbing"
    return records


def slide_types(nb) -> list[str]:
    """The slide type each cell should have by the rules (hand-kept types are respected)."""
    records = classify(nb)
    types, used, previous_visible, start_next = [], 0, None, True
    for cell, record in zip(nb.cells, records):
        if TAG_KEEP in cell.metadata.get("tags", []):
            kept = cell.metadata.get("slideshow", {}).get("slide_type", "-")
            types.append(kept)
            if kept != "skip":
                used = record["height"] if kept in ("slide", "subslide") else used + record["height"]
                previous_visible, start_next = record, False
            continue
        if record["kind"] in ("plumbing", "check"):
            types.append("skip")
            if record["level"] and record["level"] <= 2:
                start_next = True
            continue
        height, level = record["height"], record["level"]
        if start_next or (level and level <= 2):
            kind = "slide"
        elif level == 3:
            kind = "subslide"
        elif record["figure"] and used + height - 0.4 * FIGURE <= BUDGET:
            kind = "-"  # fits once the deck shrinks the figure to 60 %
        elif used and used + height > BUDGET:
            kind = "subslide"
        elif (
            cell.cell_type == "markdown"
            and previous_visible is not None
            and previous_visible["figure"]
            and height <= 3 * LINE + LINE // 2
            and record["kind"] == "content"
        ):
            kind = "fragment"
        else:
            kind = "-"
        used = height if kind in ("slide", "subslide") else used + height
        for inner in _inner_heading_offsets(cell):
            used = markdown_height(cell.source[inner:])
        types.append(kind)
        previous_visible, start_next = record, False
    return types


def _inner_heading_offsets(cell) -> list[int]:
    """Offsets of headings that start a line after the first (the deck splits the cell there)."""
    if cell.cell_type != "markdown":
        return []
    return [m.start() for m in re.finditer(r"(?m)^#{1,3}\s+\S", cell.source) if m.start() > 0]


def owned_tags(nb) -> list[set[str]]:
    tags = []
    for record in classify(nb):
        tags.append(
            {"answer": {TAG_EXERCISE}, "check": {TAG_CHECK}, "solution": {TAG_SOLUTION}}.get(record["kind"], set())
        )
    return tags


def apply(nb) -> int:
    """Write the rules' metadata into ``nb`` in place; returns how many cells changed."""
    changed = 0
    for cell, kind, tags in zip(nb.cells, slide_types(nb), owned_tags(nb)):
        before = (cell.metadata.get("slideshow", {}).get("slide_type"), list(cell.metadata.get("tags", [])))
        kept = [tag for tag in cell.metadata.get("tags", []) if tag not in OWNED_TAGS]
        new_tags = kept + sorted(tags)
        if new_tags:
            cell.metadata["tags"] = new_tags
        else:
            cell.metadata.pop("tags", None)
        cell.metadata["slideshow"] = {**cell.metadata.get("slideshow", {}), "slide_type": kind}
        changed += before != (kind, new_tags)
    nb.metadata["rise"] = {**RISE, **nb.metadata.get("rise", {})}
    nb.metadata["nst_slides"] = {"rules": RULES_VERSION}
    return changed


def problems(nb) -> list[str]:
    """What ``--check`` reports: cells without slide metadata, and metadata the rules would change."""
    missing = [i for i, cell in enumerate(nb.cells) if "slide_type" not in cell.metadata.get("slideshow", {})]
    if missing:
        return [f"{len(missing)} of {len(nb.cells)} cells have no slide metadata (first: cell {missing[0]})"]
    found = []
    for i, (cell, kind, tags) in enumerate(zip(nb.cells, slide_types(nb), owned_tags(nb))):
        if cell.metadata["slideshow"]["slide_type"] != kind:
            found.append(f"cell {i}: slide_type {cell.metadata['slideshow']['slide_type']!r}, the rules say {kind!r}")
        if {t for t in cell.metadata.get("tags", []) if t in OWNED_TAGS} != tags:
            found.append(f"cell {i}: tags {sorted(cell.metadata.get('tags', []))}, the rules add {sorted(tags)}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if metadata is missing or stale")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.check:
            found = problems(nb)
            for line in found[:10]:
                print(f"{path}: {line}")
            if len(found) > 10:
                print(f"{path}: ... and {len(found) - 10} more")
            failed += bool(found)
            continue
        changed = apply(nb)
        nbformat.write(nb, path)
        print(f"{path}: {changed} cells changed")
    if args.check and failed:
        print(f"{failed} notebook(s) need `python scripts/tag_slides.py` (then commit them)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
