#!/usr/bin/env python3
"""The instructor's lecture build: every notebook executed at presentation size, offline slides, student copies.

    python scripts/lecture.py                 run every notebook (full size), then build everything into lecture/
    python scripts/lecture.py --reuse         reuse executed notebooks whose source, helpers/ and data/ are unchanged
    python scripts/lecture.py --fast          fast mode (NST_FAST=1): small images and few steps, for tests

It writes, under the output folder: executed/ (the notebooks with outputs), slides/ (one reveal.js deck per
notebook, with reveal.js and MathJax in slides/_static: no network needed), student/ (the notebooks without
solutions), solutions/ (the instructor's solutions per lesson), handout.html (and handout.pdf with Chromium),
timings.json and timings.md (seconds per notebook and per cell, the kernel's peak memory), index.html.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import lecture_assets
import lecture_decks
import lecture_exec
import lecture_handout
import lecture_solutions
import nbformat
import tag_slides

SLOW_CELL_S = 20.0
GUIDE = ROOT / "docs" / "instructor_guide.md"
GUIDE_START, GUIDE_END = "<!-- timings:start -->", "<!-- timings:end -->"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "lecture", help="output folder (default: lecture/)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "lecture" / "_cache",
        help="where the reveal.js download is kept (default: lecture/_cache)",
    )
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="folder of the notebooks")
    parser.add_argument("--only", nargs="+", default=None, help="build only notebooks whose name starts so")
    parser.add_argument("--reuse", action="store_true", help="reuse stored executed notebooks when still valid")
    parser.add_argument("--fast", action="store_true", help="fast mode (NST_FAST=1); also when NST_FAST=1 is set")
    parser.add_argument("--strict", action="store_true", help="refuse to build when slide metadata is missing")
    parser.add_argument("--no-pdf", action="store_true", help="do not print the handout to PDF")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default 600 fast, 3600 full)")
    parser.add_argument("--update-guide", action="store_true", help=f"write the timings into {GUIDE.name}")
    args = parser.parse_args(argv)
    args.fast = args.fast or os.environ.get("NST_FAST", "").strip().lower() in {"1", "true", "yes", "on"}
    return args


def tagged_notebook(path: Path, strict: bool):
    nb = nbformat.read(path, as_version=4)
    problems = tag_slides.problems(nb)
    if problems:
        message = f"{path.name}: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        if strict:
            sys.exit(f"lecture: {message}; run `python scripts/tag_slides.py {path}` and commit it")
        print(f"warning: {message}; tagging a copy for this build (`python scripts/tag_slides.py` fixes the source)")
        tag_slides.apply(nb)
    return nb


def executed_notebook(path: Path, nb, args, store: Path):
    """The notebook with outputs: reused when its stored key matches, else run now. Returns (nb, report, error)."""
    mode = "fast" if args.fast else "full"
    key = lecture_exec.source_key(nb, ROOT, mode)
    stored = store / path.name
    if args.reuse and stored.is_file():
        previous = nbformat.read(stored, as_version=4)
        info = previous.metadata.get("nst_lecture", {})
        if info.get("key") == key and not info.get("error"):
            return previous, {**info["report"], "reused": True}, None
        print(f"  {path.name}: the stored run is stale (source, helpers/, data/ or mode changed); running it again")
    env = lecture_exec.kernel_env(ROOT, args.fast)
    timeout = args.timeout or (600 if args.fast else 3600)
    executed, report, error = lecture_exec.run_for_lecture(nb, path.parent, env, timeout)
    executed.metadata["nst_lecture"] = {"key": key, "mode": mode, "report": report, "error": error}
    nbformat.write(executed, stored)
    return executed, {**report, "reused": False}, error


def timings_markdown(report: dict) -> str:
    mode = report["mode"]
    lines = [
        (
            f"Measured by `python3 tasks.py lecture{' --fast' if mode == 'fast' else ''}` on {report['machine']} "
            f"({mode} mode, {report['built']}); `lecture/timings.json` has every cell."
        ),
        "",
        "| notebook | run (s) | kernel CPU (s) | peak memory (MiB) | slowest cell (s) | cells over 20 s |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, item in report["notebooks"].items():
        cells = sorted(item.get("cells", []), key=lambda c: -c["seconds"])
        slowest = f"{cells[0]['seconds']:.1f}: `{cells[0]['first_line'][:40]}`" if cells else ""
        slow = (
            ", ".join(f"cell {c['cell']} ({c['seconds']:.0f})" for c in cells if c["seconds"] > SLOW_CELL_S) or "none"
        )
        lines.append(
            f"| `{name}` | {item.get('wall_s', 0):.0f} | {item.get('cpu_s') or 0:.0f} | "
            f"{item.get('peak_rss_mb') or 0:.0f} | {slowest} | {slow} |"
        )
    total = sum(item.get("wall_s", 0) for item in report["notebooks"].values())
    peak = max((item.get("peak_rss_mb") or 0 for item in report["notebooks"].values()), default=0)
    lines += [
        "",
        (
            f"All notebooks: {total:.0f} s in a row; the largest kernel peaked at {peak:.0f} MiB. A class of 30 "
            f"running the largest notebook at once needs about {30 * peak * 1.25 / 1024:.1f} GiB of memory "
            "(peak × 30 × 1.25 for the server and headroom)."
        ),
    ]
    return "\n".join(lines) + "\n"


def update_guide(section: str) -> None:
    text = GUIDE.read_text()
    if GUIDE_START not in text or GUIDE_END not in text:
        print(f"warning: {GUIDE} has no {GUIDE_START} ... {GUIDE_END} section; not updated")
        return
    head, rest = text.split(GUIDE_START, 1)
    GUIDE.write_text(head + GUIDE_START + "\n" + section + GUIDE_END + rest.split(GUIDE_END, 1)[1])
    print(f"  updated the timings section of {GUIDE.relative_to(ROOT)}")


def write_index(out: Path, names: list[str], report: dict) -> Path:
    rows = []
    for name in names:
        stem = Path(name).stem
        links = [
            f'<a href="slides/{stem}.slides.html">slides</a>',
            f'<a href="executed/{name}">executed</a>',
            f'<a href="student/{name}">student copy</a>',
            f'<a href="solutions/{stem}.md">solutions</a>',
        ]
        seconds = report["notebooks"].get(name, {}).get("wall_s", 0)
        rows.append(f"<tr><td>{html.escape(stem)}</td><td>{' · '.join(links)}</td><td>{seconds:.0f} s</td></tr>")
    page = (
        "<!DOCTYPE html><html lang='en'><meta charset='utf-8'><title>Lecture build</title>"
        "<body style='font-family: sans-serif'><h1>Lecture build</h1>"
        f"<p>{html.escape(report['mode'])} mode, built {html.escape(report['built'])}. "
        "<a href='handout.html'>Handout</a> · <a href='timings.md'>timings</a></p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
    (out / "index.html").write_text(page, encoding="utf-8")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    out = args.out.resolve()
    folders = {name: out / name for name in ("executed", "slides", "student", "solutions")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    static = folders["slides"] / "_static"
    try:
        urls = lecture_assets.install_static(static, args.cache.resolve())
    except lecture_assets.AssetError as error:
        print(f"lecture: {error}", file=sys.stderr)
        return 2
    paths = sorted(args.notebooks.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in args.only)]
    if not paths:
        print(f"lecture: no notebooks in {args.notebooks}", file=sys.stderr)
        return 2
    print(f"Lecture build of {len(paths)} notebooks ({'fast' if args.fast else 'full'} mode) into {out}", flush=True)
    report = {
        "mode": "fast" if args.fast else "full",
        "built": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} CPU cores",
        "notebooks": {},
    }
    failures, slides = [], {}
    for path in paths:
        begin = time.perf_counter()
        nb = tagged_notebook(path, args.strict)
        executed, run, error = executed_notebook(path, nb, args, folders["executed"])
        report["notebooks"][path.name] = run
        found = lecture_solutions.exercises(nb)
        nbformat.write(lecture_solutions.student_copy(nb), folders["student"] / path.name)
        (folders["solutions"] / f"{path.stem}.md").write_text(
            lecture_solutions.solutions_markdown(nb, path.stem, found), encoding="utf-8"
        )
        nbformat.write(lecture_solutions.solved_copy(nb, found), folders["solutions"] / f"{path.stem}.solved.ipynb")
        if error:
            failures.append(path.name)
            print(f"  {path.name}: FAILED while running:\n{error[-2000:]}", flush=True)
            continue
        deck = lecture_decks.deck_notebook(nb, executed)
        slides[path.name] = lecture_decks.write_deck(deck, folders["slides"] / f"{path.stem}.slides.html", static, urls)
        how = "reused the stored run (it took" if run["reused"] else "executed (in"
        print(
            f"  {path.name}: {how} {run['wall_s']:.1f} s, peak {run.get('peak_rss_mb') or 0:.0f} MiB), "
            f"{slides[path.name]} slides; this step {time.perf_counter() - begin:.1f} s",
            flush=True,
        )
    for name, count in slides.items():
        report["notebooks"][name]["slides"] = count
    handout = out / "handout.html"
    lecture_handout.render(handout, lecture_handout.mathjax_relative(static, out, urls["mathjax"]), report["mode"])
    pages = None if args.no_pdf else lecture_handout.to_pdf(handout, out / "handout.pdf")
    (out / "timings.json").write_text(json.dumps(report, indent=1) + "\n")
    section = timings_markdown(report)
    (out / "timings.md").write_text("# Lecture build timings\n\n" + section)
    if args.update_guide:
        update_guide(section)
    index = write_index(out, [p.name for p in paths], report)
    total = time.perf_counter() - started
    ran = sum(r.get("wall_s", 0) for r in report["notebooks"].values() if not r.get("reused"))
    reused = sum(r.get("wall_s", 0) for r in report["notebooks"].values() if r.get("reused"))
    print(f"""
Executed notebooks  {folders["executed"]}
Slide decks         {folders["slides"]} (offline: reveal.js and MathJax in {static.name}/)
Student copies      {folders["student"]}
Solutions           {folders["solutions"]} (one .md and one solved notebook per lesson)
Handout             {handout}{f" and handout.pdf ({pages} pages)" if pages else ""}
Timings             {out / "timings.json"} and timings.md
Index               {index}
Run time            {ran:.1f} s running notebooks now, {reused:.1f} s of stored runs reused; {total:.1f} s in all""")
    if failures:
        print(f"lecture: {len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
