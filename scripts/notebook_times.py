"""Measure every notebook once and write the measured times into their prose, so stated times cannot drift.

    python scripts/notebook_times.py                 # execute every notebook in full mode, then rewrite
    python scripts/notebook_times.py --fast          # the fast-mode (NST_FAST=1) column
    python scripts/notebook_times.py --only 03 04    # some notebooks (the others keep their stored times)
    python scripts/notebook_times.py --rewrite       # rewrite from notebooks/assets/timings.json, run nothing
    python scripts/notebook_times.py --check         # exit 1 if a marker names a time that was never measured

A stated time is a marker in a markdown cell, ``<!--time:KEY-->about 8 s<!--/time-->``: KEY names the code
cells tagged ``time:KEY`` in the same notebook (their durations are summed), ``notebook`` the whole run,
``NB/notebook`` or ``fast:NB/notebook`` another notebook's whole run (the table in 00). Times come from the
cells' execution timestamps; the thread count and the CPU are stored with them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STORE = NOTEBOOKS / "assets" / "timings.json"
MARKER = re.compile(r"<!--time:(?P<key>[\w:/.-]+)-->(?P<text>.*?)<!--/time-->")


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def execute(path: Path, fast: bool, keep: Path | None = None) -> dict[str, float]:
    """Run one notebook in a fresh kernel; return seconds per time tag, and "notebook" for the whole run.

    With ``keep``, the executed notebook (outputs and per-cell timestamps) is also written there.
    """
    notebook = nbformat.read(path, as_version=4)
    env = dict(os.environ, NST_FAST="1" if fast else "0", MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    client = NotebookClient(
        notebook,
        timeout=3600,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    os.environ.update(env)
    began = time.perf_counter()
    try:
        client.execute()
    finally:  # a failed run is kept too, with its outputs up to the failing cell
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, keep / path.name)
    times = {"notebook": round(time.perf_counter() - began, 1)}
    for cell in notebook.cells:
        stamps = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or "iopub.status.busy" not in stamps:
            continue
        duration = _seconds(stamps["iopub.status.idle"]) - _seconds(stamps["iopub.status.busy"])
        for tag in cell.metadata.get("tags", []):
            if tag.startswith("time:"):
                key = tag.removeprefix("time:")
                times[key] = round(times.get(key, 0.0) + duration, 1)
    return times


def say(seconds: float) -> str:
    """'about 8 s', 'about 35 s', 'about 4 min', 'about 2½ min'."""
    if seconds < 10:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90:
        return f"about {5 * round(seconds / 5)} s"
    halves = round(seconds / 30)
    whole, half = divmod(halves, 2)
    return f"about {whole}{'½' if half else ''} min" if whole else "about ½ min"


def lookup(store: dict, notebook: str, key: str) -> float | None:
    mode, _, key = key.rpartition(":") if ":" in key else ("full", "", key)
    name, _, key = key.rpartition("/") if "/" in key else (notebook, "", key)
    matches = [nb for nb in store.get(mode or "full", {}) if nb.startswith(name)]
    return store[mode or "full"][matches[0]].get(key) if matches else None


def rewrite(store: dict, check: bool = False) -> list[str]:
    """Put the stored times into every marker; return the markers that have no measurement."""
    missing = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        changed = False

        def fill(match: re.Match, path: Path = path) -> str:
            seconds = lookup(store, path.stem, match["key"])
            if seconds is None:
                missing.append(f"{path.name}: {match['key']}")
                return match[0]
            text = say(seconds)
            if match["text"][:1].isupper():  # the marker starts a sentence
                text = text[0].upper() + text[1:]
            return f"<!--time:{match['key']}-->{text}<!--/time-->"

        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue

            source = MARKER.sub(fill, cell.source)
            changed |= source != cell.source
            cell.source = source
        if changed and not check:
            nbformat.write(notebook, path)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="measure fast mode (NST_FAST=1)")
    parser.add_argument("--only", nargs="+", help="notebook number prefixes to run, e.g. 03 04")
    parser.add_argument("--rewrite", action="store_true", help="only rewrite the markers from the stored times")
    parser.add_argument("--check", action="store_true", help="only check that every marker has a measurement")
    parser.add_argument("--keep", type=Path, help="also write the executed notebooks into this folder")
    args = parser.parse_args(argv)
    store = json.loads(STORE.read_text()) if STORE.exists() else {}
    if not (args.rewrite or args.check):
        import torch

        mode = "fast" if args.fast else "full"
        paths = [
            p
            for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
            if not args.only or any(p.name.startswith(prefix) for prefix in args.only)
        ]
        for path in paths:
            times = execute(path, args.fast, args.keep)
            store.setdefault(mode, {})[path.stem] = times
            print(f"{path.name}: {times['notebook']:.0f} s ({mode} mode)", flush=True)
            store.setdefault("machine", {})[mode] = {
                "threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
                "date": datetime.date.today().isoformat(),
            }
            STORE.parent.mkdir(parents=True, exist_ok=True)  # after each notebook: a later failure keeps these
            STORE.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
    missing = rewrite(store, check=args.check)
    for item in missing:
        print(f"no measured time for {item}")
    return 1 if missing and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
