"""The files repo2docker (Binder, a JupyterHub) reads, checked statically: no Docker engine is needed.

repo2docker picks the Python buildpack from runtime.txt and requirements.txt at the repository root. A
``-e .`` line is a local reference, so it copies the whole repository before ``pip install -r``; a
pyproject.toml with [project] and [build-system] is then also ``pip install .``-ed. A Dockerfile,
environment.yml or binder/ folder would change which files it reads, so there must be none.
"""

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def _requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_runtime_names_a_python_that_the_package_accepts():
    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(runtime.removeprefix("python-") + ".0")


def test_requirements_parse_and_end_with_the_package_itself():
    lines = _requirement_lines()
    assert lines[-1] == "-e ."
    names = {Requirement(line).name.lower() for line in lines[:-1]}
    assert {"torch", "jupyterlab", "ipywidgets", "jupyter-server-mathjax", "jupyterlab-rise"} <= names


def test_pyproject_is_a_package_repo2docker_installs():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "build-backend" in pyproject["build-system"] and pyproject["project"]["name"]


@pytest.mark.parametrize(
    "name", ["Dockerfile", "environment.yml", "binder", ".binder", "Pipfile", "apt.txt", "postBuild"]
)
def test_nothing_overrides_the_root_requirements(name):
    assert not (ROOT / name).exists(), (
        f"{name} would change how repo2docker builds the image; see docs/instructor_guide.md"
    )
