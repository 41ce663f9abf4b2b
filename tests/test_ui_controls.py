import pytest

from helpers.ui.controls import Controls
from helpers.ui.settings import STYLE_LAYERS, Settings

FILES = ["a.png", "b.jpg", "c.png"]


def test_widgets_start_at_the_settings_and_read_back_the_same():
    settings = Settings(content="b.jpg", style="c.png", ratio=1e5, tv_weight=1e6, size=96, steps=12,
                        optimizer="adam", init="noise", seed=4,
                        layer_weights={"relu1_1": 0.1, "relu2_1": 0.3, "relu3_1": 0.5, "relu4_1": 0.7, "relu5_1": 0.9})
    controls = Controls(FILES, settings)
    assert controls.settings == settings
    assert controls.content_picker.options == tuple(FILES)
    assert [s.description for s in controls.layer_sliders.values()] == list(STYLE_LAYERS)


def test_moving_a_widget_changes_the_settings():
    controls = Controls(FILES, Settings(content="a.png", style="b.jpg"))
    controls.layer_sliders["relu4_1"].value = 0.85
    controls.steps_slider.value = 42
    controls.init_buttons.value = "style"
    settings = controls.settings
    assert settings.layer_weights["relu4_1"] == pytest.approx(0.85)
    assert settings.steps == 42 and settings.init == "style"


def test_values_outside_the_ranges_widen_the_sliders():
    controls = Controls(FILES, Settings(content="a.png", style="b.jpg"))
    controls.set_settings(Settings(content="a.png", style="b.jpg", ratio=1e-2, tv_weight=3e6))
    assert controls.settings.ratio == pytest.approx(1e-2) and controls.ratio_slider.min <= -2
    assert controls.settings.tv_weight == 3e6
    assert [label for label, _ in controls.tv_slider.options][:3] == ["0", "100000", "1e+06"]


def test_the_status_line_is_escaped_and_read_back_as_text():
    controls = Controls(FILES, Settings(content="a.png", style="b.jpg"))
    controls.say("<b>bad</b> & worse", "error")
    assert "<b>" not in controls.status.value and "&lt;b&gt;" in controls.status.value
    assert controls.message == "<b>bad</b> & worse"


def test_the_browser_test_finds_the_widgets_by_class():
    controls = Controls(FILES, Settings(content="a.png", style="b.jpg"))
    assert "nst-preview" in controls.preview._dom_classes and "nst-run" in controls.run_button._dom_classes
    assert "nst-weight-relu5_1" in controls.layer_sliders["relu5_1"]._dom_classes
