"""Run a notebook for the lecture build: presentation style on, per-cell times and the kernel's peak memory kept.

The presentation style is switched on by an injected first code cell that reads ``NST_PRESENTATION`` (set in
the kernel's environment) and calls ``helpers.presentation.use_presentation_style``; an injected last cell
reports the kernel's peak resident memory and CPU time. Both cells are removed again after the run, so the
executed notebook has exactly the cells of its source, with outputs and nbclient's per-cell timestamps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import tag_slides
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

STYLE_CELL = """import helpers.presentation
helpers.presentation.use_presentation_style(helpers.presentation.presentation_mode())"""

RESOURCE_CELL = """import json as _json, resource as _resource, sys as _sys
_usage = _resource.getrusage(_resource.RUSAGE_SELF)
_gpu = None
if "torch" in _sys.modules and _sys.modules["torch"].cuda.is_available():
    _gpu = _sys.modules["torch"].cuda.max_memory_allocated() / 2**20
_cpu = _usage.ru_utime + _usage.ru_stime
print("NST_RESOURCES " + _json.dumps({"peak_rss_mb": _usage.ru_maxrss / 1024, "cpu_s": _cpu, "peak_gpu_mb": _gpu}))"""
MARKER = re.compile(r"^NST_RESOURCES (\{.*\})$", re.MULTILINE)
BUILD_VERSION = "1"


def source_key(nb, root: Path, mode: str) -> str:
    """A hash of everything the outputs depend on: the cells' sources, helpers/, data/, the mode, this module."""
    digest = hashlib.sha256(f"{BUILD_VERSION}|{mode}|{sys.version_info[:2]}|{STYLE_CELL}|{RESOURCE_CELL}".encode())
    digest.update(json.dumps([[cell.cell_type, cell.source] for cell in nb.cells]).encode())
    for folder in ("helpers", "data"):
        if not (root / folder).is_dir():
            raise FileNotFoundError(f"{root / folder} is missing: the cache key needs it")
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _injected(source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [tag_slides.TAG_INJECTED]
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    return cell


def kernel_env(root: Path, fast: bool, presentation: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env["NST_FAST"] = "1" if fast else "0"
    env["NST_PRESENTATION"] = "1" if presentation else "0"
    env.pop("MPLBACKEND", None)  # the notebooks choose the inline backend themselves
    return env


def execute(nb, cwd: Path, env: dict[str, str], timeout: int, allow_errors: bool = False):
    """Run ``nb`` (a copy) in a fresh python3 kernel; returns (executed notebook, error text or None, seconds)."""
    nb = copy.deepcopy(nb)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        record_timing=True,
        store_widget_state=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    started, error = time.perf_counter(), None
    try:
        client.execute(env=env, cwd=str(cwd))
    except CellExecutionError as failure:
        error = str(failure)
    return nb, error, time.perf_counter() - started


def run_for_lecture(nb, cwd: Path, env: dict[str, str], timeout: int):
    """Execute with the two injected cells; returns (notebook with outputs, report dict, error or None)."""
    prepared = copy.deepcopy(nb)
    prepared.cells = [_injected(STYLE_CELL)] + prepared.cells + [_injected(RESOURCE_CELL)]
    executed, error, seconds = execute(prepared, cwd, env, timeout)
    resources = {}
    for output in executed.cells[-1].get("outputs", []):
        match = MARKER.search(output.get("text", ""))
        if match:
            resources = json.loads(match.group(1))
    executed.cells = executed.cells[1:-1]
    report = {"wall_s": round(seconds, 2), **resources, "cells": cell_times(executed)}
    return executed, report, error


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cell_times(nb) -> list[dict]:
    """Seconds per executed code cell, from nbclient's timestamps (execute_input to execute_reply)."""
    rows = []
    for index, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if cell.cell_type != "code" or "shell.execute_reply" not in timing:
            continue
        begin = timing.get("iopub.execute_input") or timing.get("shell.execute_reply.started")
        if begin is None:
            continue
        seconds = (_stamp(timing["shell.execute_reply"]) - _stamp(begin)).total_seconds()
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        rows.append({"cell": index, "seconds": round(seconds, 3), "first_line": first[:100]})
    return rows
