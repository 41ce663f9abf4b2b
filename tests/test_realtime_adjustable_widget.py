import pytest

pytest.importorskip("ipywidgets")

import helpers
from helpers.realtime.adjustable import STYLE_LAYERS
from helpers.realtime.adjustable_widget import AdjustableWidget


@pytest.fixture(scope="module")
def live(data_dir):
    photo = helpers.load_image(data_dir / "grace_hopper.jpg")
    paintings = {name: helpers.load_image(data_dir / name, max_size=64) for name in ("the_scream.jpg", "brick.png")}
    return AdjustableWidget(photo, paintings, size=48, exact_steps=2)


def test_every_control_carries_its_css_class(live):
    classes = {
        c
        for w in (live.painting, live.ratio, live.preview, live.latency, live.exact, live.status)
        for c in w._dom_classes
    }
    assert {"nst-adj-style", "nst-adj-ratio", "nst-adj-preview", "nst-adj-latency", "nst-adj-exact"} <= classes
    assert all(f"nst-adj-weight-{n}" in live.weights[n]._dom_classes for n in STYLE_LAYERS)
    assert all(f"nst-adj-on-{n}" in live.switches[n]._dom_classes for n in STYLE_LAYERS)


def test_the_sliders_start_at_the_defaults_and_span_the_trained_range(live):
    assert live.ratio.value == pytest.approx(0.1) and (live.ratio.min, live.ratio.max) == (-3, 3)
    assert all(s.value == 1.0 and (s.min, s.max) == (-2, 2) for s in live.weights.values())
    assert max(live.content.shape[-2:]) == 48 and bytes(live.preview.value).startswith(b"\x89PNG")


def test_moving_a_slider_repaints_at_once(live):
    before, count = live.preview.value, len(live.timings)
    live.weights["relu2_1"].value = 10.0
    assert len(live.timings) == count + 1 and live.preview.value != before
    assert "ms for" in live.latency.value
    live.weights["relu2_1"].value = 1.0


def test_a_switched_off_layer_has_weight_zero(live):
    live.switches["relu5_1"].value = False
    try:
        assert live.setting().style_layers["relu5_1"] == 0.0 and live.setting().style_layers["relu1_1"] == 1.0
    finally:
        live.switches["relu5_1"].value = True


def test_every_layer_off_says_so_instead_of_failing(live):
    for switch in live.switches.values():
        switch.value = False
    try:
        assert "every layer is off" in live.latency.value and live.run_exact() == {}
    finally:
        for switch in live.switches.values():
            switch.value = True
    assert "ms for" in live.latency.value


def test_the_button_runs_the_optimisation_with_the_same_weights(live):
    result = live.run_exact()
    assert result["steps"] == 2 and result["network"] > 0 and result["optimisation"] > 0
    assert bytes(live.exact_preview.value).startswith(b"\x89PNG") and "L-BFGS steps" in live.status.value
