import subprocess
import sys

import matplotlib
import pytest

from helpers import presentation


@pytest.fixture
def restore_rc():
    saved = dict(matplotlib.rcParams)
    yield
    matplotlib.rcParams.update(saved)


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), (" Yes ", True), ("0", False), ("", False)])
def test_presentation_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(presentation.PRESENTATION_ENV, value)
    assert presentation.presentation_mode() is expected


def test_presentation_mode_is_off_without_the_variable(monkeypatch):
    monkeypatch.delenv(presentation.PRESENTATION_ENV, raising=False)
    assert presentation.presentation_mode() is False


def test_style_sets_large_fonts_and_returns_what_it_replaced(restore_rc):
    matplotlib.rcParams["font.size"] = 10.0
    previous = presentation.use_presentation_style()
    assert previous["font.size"] == 10.0
    for key in ("font.size", "axes.titlesize", "axes.labelsize"):
        assert float(matplotlib.rcParams[key]) >= 16
    assert matplotlib.rcParams["lines.linewidth"] > 2
    matplotlib.rcParams.update(previous)
    assert matplotlib.rcParams["font.size"] == 10.0


def test_disabled_style_changes_nothing(restore_rc):
    before = dict(matplotlib.rcParams)
    assert presentation.use_presentation_style(False) == {}
    assert dict(matplotlib.rcParams) == before


def test_custom_settings_replace_the_defaults(restore_rc):
    previous = presentation.use_presentation_style(rc={"font.size": 30})
    assert set(previous) == {"font.size"} and matplotlib.rcParams["font.size"] == 30


def test_import_changes_no_rc_params():
    code = (
        "import matplotlib; before = dict(matplotlib.rcParams); import helpers.presentation; "
        "assert dict(matplotlib.rcParams) == before; print('same')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "same"
