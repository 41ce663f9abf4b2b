import subprocess
import sys

import pytest
import torch

import helpers

pytest.importorskip("ipywidgets")
from helpers.realtime.widget import RealtimeWidget


@pytest.fixture(scope="module")
def widget(data_dir):
    paintings = {
        name: helpers.load_image(data_dir / f"{name}.jpg", max_size=128) for name in ("starry_night", "the_scream")
    }
    return RealtimeWidget(helpers.load_image(data_dir / "chelsea.png"), paintings, size=64)


def test_controls_carry_their_css_classes(widget):
    for control, name in (
        (widget.first, "style"),
        (widget.second, "style2"),
        (widget.mix, "mix"),
        (widget.strength, "strength"),
        (widget.preview, "preview"),
        (widget.latency, "latency"),
    ):
        assert f"nst-rt-{name}" in control._dom_classes


def test_starts_with_a_preview_and_its_latency(widget):
    assert bytes(widget.preview.value).startswith(b"\x89PNG")
    assert widget.latency.value.endswith("ms for 64×43 px (network and PNG)")


def test_moving_a_slider_reruns_the_network(widget):
    before, runs = widget.preview.value, len(widget.timings)
    widget.strength.value = 0.0
    assert len(widget.timings) == runs + 1 and widget.preview.value != before
    torch.testing.assert_close(widget.embedding(), widget.own)
    widget.strength.value = 1.0


def test_mix_is_linear_between_the_two_paintings(widget):
    widget.mix.value = 0.25
    first, second = widget.embeddings["starry_night"], widget.embeddings["the_scream"]
    torch.testing.assert_close(widget.embedding(), 0.75 * first + 0.25 * second)
    widget.mix.value = 0.0


def test_needs_two_paintings(data_dir):
    with pytest.raises(ValueError, match="at least two"):
        RealtimeWidget(torch.rand(1, 3, 32, 32), {"one": torch.rand(1, 3, 32, 32)})


def test_importing_the_realtime_package_does_not_import_ipywidgets():
    code = "import sys, helpers.realtime; print('ipywidgets' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
