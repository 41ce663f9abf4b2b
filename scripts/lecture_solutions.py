"""Exercises and their solutions in a notebook: find them, extract the solutions' code, make student copies.

An exercise is an answer cell (a code cell with ``name = ...`` or ``return ...``, tagged ``exercise``), the
check cell after it (``check_answer``, tagged ``exercise-check``) and a solution: a markdown cell tagged
``solution`` holding ``<details><summary>Solution N</summary> ... </details>`` (or one ``Solutions`` block
with a numbered list, item N for exercise N). The standard solution is one fenced ```python block that
replaces the whole answer cell; an inline `name = value` span is read too when it is the only one.
"""

from __future__ import annotations

import ast
import copy
import re
import textwrap
from dataclasses import dataclass

import tag_slides

DETAILS = re.compile(
    r"<details>\s*<summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>\s*", re.DOTALL | re.IGNORECASE
)
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```[ \t]*(?:python|py|python3)?[ \t]*\n(?P<code>.*?)^[ \t]*```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
ITEM = re.compile(r"^(\d+)\.[ \t]+", re.MULTILINE)


@dataclass
class Exercise:
    """One exercise with an answer cell, and what was found of its solution."""

    number: int
    answer_index: int
    check_index: int | None
    name: str | None
    solution_index: int | None = None
    solution_text: str | None = None
    code: str | None = None
    how: str = ""
    replacement: str | None = None

    @property
    def extracted(self) -> bool:
        return self.replacement is not None

    @property
    def label(self) -> str:
        return f"exercise {self.number} ({self.name or 'return ...'})"


def solution_sections(nb) -> dict[int, tuple[int, str]]:
    """Exercise number -> (cell index, the solution's markdown), from every ``<details>`` solution block."""
    found: dict[int, tuple[int, str]] = {}
    for index, cell in enumerate(nb.cells):
        if not tag_slides.is_solution(cell):
            continue
        for block in DETAILS.finditer(cell.source):
            summary, body = block.group("summary").strip(), block.group("body")
            single = re.match(r"solution\s+(\d+)\b", summary, re.IGNORECASE)
            if single:
                found[int(single.group(1))] = (index, body.strip())
            elif summary.lower().startswith("solution"):
                starts = list(ITEM.finditer(body))
                for item, following in zip(starts, starts[1:] + [None]):
                    end = following.start() if following else len(body)
                    found[int(item.group(1))] = (index, body[item.end() : end].strip())
    return found


def exercises(nb) -> list[Exercise]:
    """Every exercise with an answer cell, numbered 1, 2, ... in notebook order, with its solution extracted."""
    records = tag_slides.classify(nb)
    found, sections = [], solution_sections(nb)
    for index, record in enumerate(records):
        if record["kind"] != "answer":
            continue
        check = next((j for j in range(index + 1, len(records)) if records[j]["kind"] == "check"), None)
        if check is not None and any(records[k]["kind"] == "answer" for k in range(index + 1, check)):
            check = None
        match = tag_slides.placeholder(nb.cells[index].source)
        exercise = Exercise(len(found) + 1, index, check, match.group("name"))
        if exercise.number in sections:
            exercise.solution_index, exercise.solution_text = sections[exercise.number]
            _extract(exercise, nb.cells[index].source)
        else:
            exercise.how = "no solution block (<details><summary>Solution N</summary>) for it"
        found.append(exercise)
    return found


def _extract(exercise: Exercise, answer_source: str) -> None:
    text, name = exercise.solution_text, exercise.name
    fenced = [textwrap.dedent(m.group("code")).strip("\n") for m in FENCE.finditer(text)]
    fenced = [code for code in fenced if _solves(code, name)] if len(fenced) > 1 else fenced
    if len(fenced) == 1:
        code, how = fenced[0], "fenced block"
    elif len(fenced) > 1:
        exercise.how = "several fenced blocks could be the answer"
        return
    else:
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*=(?!=)") if name else re.compile(r"^\s*return\s")
        spans = sorted({span.strip() for span in INLINE.findall(text) if pattern.match(span)})
        if len(spans) != 1:
            wanted = f"`{name} = ...`" if name else "`return ...`"
            exercise.how = (
                ("no fenced ```python block and no inline " + wanted)
                if not spans
                else f"{len(spans)} different inline {wanted} spans"
            )
            return
        code, how = spans[0], "inline code"
    if not _solves(code, name):
        exercise.how = f"its code does not {'assign ' + name if name else 'return a value'}"
        return
    exercise.code = code
    exercise.replacement, full = substitute(answer_source, code)
    exercise.how = f"{how}, {'full replacement of the answer cell' if full else 'spliced in for the ... line'}"


def _solves(code: str, name: str | None) -> bool:
    try:
        tree = ast.parse(code if name else "def _():\n" + textwrap.indent(code, "    "))
    except SyntaxError:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return False
    if name is None:
        return any(isinstance(node, (ast.Return, ast.FunctionDef)) for node in ast.walk(tree))
    targets = [
        t
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
    ]
    return any(isinstance(t, ast.Name) and t.id == name for t in targets) or any(
        isinstance(e, ast.Name) and e.id == name for t in targets if isinstance(t, ast.Tuple) for e in t.elts
    )


def substitute(answer_source: str, code: str) -> tuple[str, bool]:
    """The answer cell with the solution in it, and whether ``code`` replaced the cell whole.

    ``code`` replaces the cell when it repeats every line above the ``...`` line (a full replacement, the
    standard); otherwise it takes the place of the ``...`` line alone, indented like it.
    """
    match = tag_slides.placeholder(answer_source)
    above = [line.strip() for line in answer_source[: match.start()].splitlines() if line.strip()]
    code_lines = {line.strip() for line in code.splitlines()}
    if all(line in code_lines for line in above):
        return code.rstrip() + "\n", True
    indented = textwrap.indent(code.rstrip(), match.group("indent"))
    return answer_source[: match.start()] + indented + answer_source[match.end() :], False


def solved_copy(nb, found: list[Exercise] | None = None):
    """A copy of ``nb`` with every extracted solution in its answer cell."""
    solved = copy.deepcopy(nb)
    for exercise in found if found is not None else exercises(nb):
        if exercise.extracted:
            solved.cells[exercise.answer_index].source = exercise.replacement
    return solved


def strip_solutions(source: str) -> str:
    """A solution cell's markdown without its ``<details>`` solution blocks (prose after them stays)."""
    return DETAILS.sub(
        lambda m: "" if m.group("summary").strip().lower().startswith("solution") else m.group(0), source
    ).strip("\n")


def student_copy(nb):
    """The learner's notebook: no solutions, no outputs, the answer cells left with their ``...``."""
    student = copy.deepcopy(nb)
    cells = []
    for cell in student.cells:
        if tag_slides.TAG_INJECTED in cell.metadata.get("tags", []):
            continue
        if tag_slides.is_solution(cell):
            cell.source = strip_solutions(cell.source)
            if not cell.source.strip():
                continue
            cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != tag_slides.TAG_SOLUTION]
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    student.cells = cells
    return student


def solutions_markdown(nb, title: str, found: list[Exercise] | None = None) -> str:
    """The instructor's page of solutions for one notebook, in Markdown."""
    found = exercises(nb) if found is None else found
    lines = [f"# Solutions · {title}", "", "For the instructor. The student copies have these removed.", ""]
    for exercise in found:
        answer = nb.cells[exercise.answer_index].source.rstrip()
        lines += [
            f"## Exercise {exercise.number}",
            "",
            "The answer cell as the learner gets it:",
            "",
            "```python",
            answer,
            "```",
            "",
        ]
        if exercise.solution_text:
            lines += ["The notebook's solution:", "", exercise.solution_text, ""]
        if exercise.extracted:
            lines += [
                f"The answer cell solved ({exercise.how}):",
                "",
                "```python",
                exercise.replacement.rstrip(),
                "```",
                "",
            ]
        else:
            lines += [f"**Not extracted automatically:** {exercise.how}.", ""]
    if not found:
        lines += ["This notebook has no exercise with an answer cell.", ""]
    return "\n".join(lines)
