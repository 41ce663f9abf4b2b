import math
from html.parser import HTMLParser

import ipywidgets as widgets
import pytest

from helpers.ui.controls import LAYER_ROLES, Controls
from helpers.ui.inputs import STEPS_PER_DECADE, LogSlider, parse_whole
from helpers.ui.settings import STYLE_LAYERS, Settings
from helpers.ui.upload import BUTTON_CLASS, LIMIT, NOTE_CLASS, ROW_CLASS, guard_html

FILES = ["a.png", "b.jpg", "c.png"]


def _controls(**changes):
    return Controls(FILES, Settings(content="a.png", style="b.jpg").updated(**changes))


def _tree(widget):
    pending = [widget]
    while pending:
        widget = pending.pop()
        yield widget
        pending.extend(getattr(widget, "children", ()))


def test_widgets_start_at_the_settings_and_read_back_the_same():
    settings = Settings(
        content="b.jpg",
        style="c.png",
        ratio=0.03,
        tv_weight=0.2,
        size=384,
        steps=12,
        optimizer="adam",
        init="noise",
        seed=4,
        layer_weights={"relu1_1": 0.1, "relu2_1": 0.0, "relu3_1": 5.0, "relu4_1": 1.0, "relu5_1": 90.0},
    )
    controls = Controls(FILES, settings)
    assert controls.settings == settings
    assert not controls.layer_sliders["relu2_1"].switch.value and controls.layer_sliders["relu2_1"].slider.disabled
    assert (
        controls.layer_sliders["relu2_1"].readout.value == "off"
        and controls.layer_sliders["relu3_1"].readout.value == "5"
    )
    assert controls.content_picker.options == tuple(FILES)


def test_the_sliders_are_log_scales_centred_on_the_balanced_defaults():
    controls = _controls()
    for control in controls.layer_sliders.values():
        assert (control.slider.min, control.slider.max) == (-2 * STEPS_PER_DECADE, 2 * STEPS_PER_DECADE)
        assert control.slider.value == 0 and control.value == 1
    assert (controls.ratio_slider.slider.min, controls.ratio_slider.slider.max) == (-60, 60)
    assert controls.ratio_slider.value == pytest.approx(0.1) and controls.tv_slider.value == pytest.approx(0.01)
    assert controls.settings == Settings(content="a.png", style="b.jpg")


def test_a_log_slider_keeps_a_value_set_from_code_until_it_is_moved():
    control = LogSlider("w", (0.01, 100), 1.0, "a weight", switch=True)
    control.value = 0.25
    assert control.value == 0.25 and control.slider.value == round(20 * math.log10(0.25)) == -12
    assert control.readout.value == "0.25"
    control.slider.value += 1  # one step to the right, as the arrow key does in the browser
    assert control.value == pytest.approx(10 ** (-11 / 20)) and control.readout.value == "0.282"
    assert isinstance(control.slider.value, int)  # whole numbers on both sides: nothing to snap and send back
    control.switch.value = False
    assert control.value == 0.0 and control.slider.disabled and control.readout.value == "off"
    control.switch.value = True
    assert control.value == pytest.approx(10 ** (-11 / 20))


def test_switching_a_layer_off_leaves_it_out_and_back_on_restores_its_weight():
    controls = _controls()
    controls.layer_sliders["relu4_1"].value = 10.0
    controls.layer_sliders["relu4_1"].switch.value = False
    assert controls.settings.layer_weights["relu4_1"] == 0.0 and controls.settings.layers_on() == [
        "relu1_1",
        "relu2_1",
        "relu3_1",
        "relu5_1",
    ]
    controls.layer_sliders["relu4_1"].switch.value = True
    assert controls.settings.layer_weights["relu4_1"] == pytest.approx(10.0)
    controls.tv_slider.switch.value = False
    assert controls.settings.tv_weight == 0.0 and controls.tv_slider.readout.value == "off"


def test_values_outside_the_ranges_widen_the_sliders():
    controls = _controls()
    controls.set_settings(
        Settings(content="a.png", style="b.jpg", ratio=3e-5, tv_weight=30.0, size=300, layer_weights={"relu1_1": 500.0})
    )
    settings = controls.settings
    assert settings.ratio == 3e-5 and controls.ratio_slider.slider.min == round(20 * math.log10(3e-5)) == -90
    assert settings.tv_weight == pytest.approx(30.0) and settings.layer_weights["relu1_1"] == pytest.approx(500.0)
    assert settings.size == 300 and 300 in controls.size_picker.options


def test_the_seed_box_is_disabled_unless_the_start_is_noise():
    controls = _controls()
    assert controls.seed_box.disabled
    controls.init_buttons.value = "noise"
    assert not controls.seed_box.disabled
    controls.init_buttons.value = "style"
    assert controls.seed_box.disabled


@pytest.mark.parametrize("typed", ["1e3", "2.5", "-3", "", "seven"])
def test_a_typed_seed_that_is_not_a_whole_number_is_kept_and_refused(typed):
    controls = _controls(init="noise")
    controls.seed_box.value = typed
    assert controls.seed_box.value == typed and controls.seed_box.style.background
    assert repr(typed) in controls.message and "whole number" in controls.message
    with pytest.raises(ValueError, match="seed"):
        controls.settings  # noqa: B018
    controls.seed_box.value = "1000"
    assert controls.settings.seed == 1000 and not controls.seed_box.style.background


def test_typed_steps_are_checked_the_same_way():
    controls = _controls()
    controls.steps_box.value = "2.5"
    assert controls.steps_box.value == "2.5" and "steps: '2.5' is not a whole number" in controls.message
    with pytest.raises(ValueError, match="steps"):
        controls.settings  # noqa: B018
    controls.steps_box.value = " 40 "
    assert controls.settings.steps == 40


def test_parse_whole_never_rewrites_a_value():
    assert parse_whole("007", "seed", 0, 10) == 7
    for text in ("1e3", "2.5", "1,000", "٣"):
        with pytest.raises(ValueError, match="not a whole number"):
            parse_whole(text, "seed", 0, 10**9)
    with pytest.raises(ValueError, match="from 1 to 5000"):
        parse_whole("6000", "steps", 1, 5000)


def test_every_control_has_a_tooltip_and_each_layer_says_what_it_carries():
    controls = _controls()
    controls_with_tooltips = [
        w
        for w in _tree(controls.widget)
        if not isinstance(w, (widgets.Box, widgets.Image)) and "tooltip" in w.trait_names()
    ]
    images = [w for w in _tree(controls.widget) if isinstance(w, widgets.Image)]
    assert len(images) == 3 and not any(w.tooltip for w in images)  # a tooltip breaks the Image view
    assert len(controls_with_tooltips) >= 30
    assert all(w.tooltip for w in controls_with_tooltips), [w for w in controls_with_tooltips if not w.tooltip]
    for name in STYLE_LAYERS:
        assert LAYER_ROLES[name] in controls.layer_sliders[name].slider.tooltip
    assert (
        "colour" in controls.layer_sliders["relu1_1"].slider.tooltip
        and "largest" in controls.layer_sliders["relu5_1"].slider.tooltip
    )
    assert len(controls.init_buttons.tooltips) == len(controls.init_buttons.options)


def test_slider_tracks_are_at_least_200_px_wide():
    controls = _controls()
    for control in [*controls.layer_sliders.values(), controls.ratio_slider, controls.tv_slider]:
        slider = control.slider
        width, label = (
            int(value.removesuffix("px")) for value in (slider.layout.width, slider.style.description_width)
        )
        assert not slider.readout and width - label >= 200


def test_run_and_preview_sit_in_one_column_above_the_loss_plot():
    controls = _controls()
    _, view = controls.widget.children[0].children
    assert controls.run_button in view.children[0].children and view.children[2] is controls.preview


def test_the_status_line_is_escaped_and_read_back_as_text():
    controls = _controls()
    controls.say("<b>bad</b> & worse", "error")
    assert "<b>" not in controls.status.value and "&lt;b&gt;" in controls.status.value
    assert controls.message == "<b>bad</b> & worse"


def test_the_browser_test_finds_the_widgets_by_class():
    controls = _controls()
    assert "nst-preview" in controls.preview._dom_classes and "nst-run" in controls.run_button._dom_classes
    assert "nst-weight-relu5_1" in controls.layer_sliders["relu5_1"].slider._dom_classes
    assert "nst-on-relu5_1" in controls.layer_sliders["relu5_1"].switch._dom_classes
    assert BUTTON_CLASS in controls.upload._dom_classes
    rows = [w for w in _tree(controls.widget) if ROW_CLASS in getattr(w, "_dom_classes", ())]
    assert len(rows) == 1 and controls.upload in rows[0].children and controls.upload_guard in rows[0].children


class _Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_upload_guard_is_one_handler_naming_the_widgets_and_the_limit():
    parser = _Attributes()
    parser.feed(guard_html())
    (div, note), (img, attributes) = parser.tags
    assert div == "div" and note["class"] == NOTE_CLASS and img == "img"
    script = attributes["onerror"]
    assert (
        "__" not in script and str(LIMIT) in script and f"'.{ROW_CLASS}'" in script and f"'.{BUTTON_CLASS}'" in script
    )
    assert script.count("(") == script.count(")") and script.count("{") == script.count("}")
    assert 8 * 2**20 <= LIMIT < 10 * 2**20  # under tornado's default websocket_max_message_size
