#!/usr/bin/env python3
"""Set up the environment and open the lessons, or run the tests.

    python3 tasks.py lab     create or reuse .venv, install, open JupyterLab on notebooks/ (localhost, token on)
    python3 tasks.py test    create or reuse .venv, install, lint with ruff, run every test (notebooks in fast mode)
    python3 tasks.py lecture create or reuse .venv, install, build the lecture kit into lecture/ (--reuse, --fast)

Only Python 3.10+ and pip are needed; everything else goes into .venv at the repository root.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".requirements.sha256"
INPUTS = ("requirements.txt", "pyproject.toml")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_hash() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def run(*command: object, env: dict | None = None) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], cwd=ROOT, env=env, check=True)


def ensure_environment() -> Path:
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print(f"Creating the virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = requirements_hash()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    print("Installing requirements (torch is large: the first time takes a few minutes)", flush=True)
    run(python, "-m", "pip", "install", "--disable-pip-version-check", "-r", ROOT / "requirements.txt")
    STAMP.write_text(wanted + "\n")
    return python


def lab(python: Path, extra: list[str]) -> int:
    command = [python, "-m", "jupyter", "lab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={ROOT / 'notebooks'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        print("Running as root (a container?): JupyterLab needs --allow-root; it still listens on localhost only.")
        command.append("--ServerApp.allow_root=True")
    try:
        run(*command, *extra)
    except KeyboardInterrupt:
        print("JupyterLab stopped.")
    except subprocess.CalledProcessError as error:
        return error.returncode
    return 0


LINTED = ("helpers", "tests", "bench", "scripts", "tasks.py", "notebooks")


def lint(python: Path) -> int:
    """ruff's lint and format check over the code and the notebooks (configured in pyproject.toml)."""
    try:
        run(python, "-m", "ruff", "check", *LINTED)
        run(python, "-m", "ruff", "format", "--check", *LINTED)
    except subprocess.CalledProcessError as error:
        print("ruff found problems: `ruff check --fix` and `ruff format` mend most of them", flush=True)
        return error.returncode
    return 0


def test(python: Path, extra: list[str], full: bool) -> int:
    env = dict(os.environ)
    if not full:
        env.setdefault("NST_FAST", "1")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle PyTorch threads sleep instead of spinning on shared cores
    scratch = tempfile.TemporaryDirectory(prefix="nst-test-")
    env["NST_CACHE"] = str(Path(scratch.name) / "cache")  # every run starts with an empty playground cache
    command = [
        python,
        "-m",
        "pytest",
        "tests",
        "notebooks",
        "--nbval-lax",
        "--nbval-current-env",
        "--nbval-cell-timeout=900",
        "-p",
        "no:cacheprovider",
    ]
    try:
        run(*command, *extra, env=env)
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        scratch.cleanup()
    return 0


def lecture(python: Path, extra: list[str]) -> int:
    try:
        run(python, ROOT / "scripts" / "lecture.py", *extra)
    except subprocess.CalledProcessError as error:
        return error.returncode
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["lab", "test", "install", "lecture"])
    parser.add_argument("--full", action="store_true", help="test: run the notebooks at full size, not in fast mode")
    args, extra = parser.parse_known_args(argv)
    python = ensure_environment()
    if args.task == "lab":
        return lab(python, extra)
    if args.task == "test":
        return lint(python) or test(python, extra, args.full)
    if args.task == "lecture":
        return lecture(python, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
