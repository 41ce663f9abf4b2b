import json

import pytest

from helpers.ui.settings import (
    CONTENT_WEIGHT,
    STYLE_LAYERS,
    Settings,
    describe_settings,
    preview_options,
    settings_metadata,
    settings_to_options,
)


def test_default_settings_become_these_engine_options():
    options = settings_to_options(Settings())
    assert options == {
        "content_layers": {"relu4_2": 1.0},
        "style_layers": {name: 0.2 for name in STYLE_LAYERS},
        "content_weight": CONTENT_WEIGHT,
        "style_weight": CONTENT_WEIGHT / 1e4,
        "tv_weight": 0.0,
        "init": "content",
        "optimizer": "lbfgs",
        "steps": 100,
        "size": 256,
        "seed": 0,
    }


def test_ratio_is_content_weight_over_style_weight():
    for ratio in (1e-6, 1e-3, 0.5):
        options = settings_to_options(Settings(ratio=ratio))
        assert options["content_weight"] / options["style_weight"] == pytest.approx(ratio)


def test_layers_at_zero_are_left_out_and_order_follows_depth():
    weights = {"relu5_1": 0.3, "relu1_1": 1.0, "relu2_1": 0.0, "relu3_1": 0.0, "relu4_1": 0.5}
    options = settings_to_options(Settings(layer_weights=weights))
    assert list(options["style_layers"]) == ["relu1_1", "relu4_1", "relu5_1"]
    assert options["style_layers"]["relu4_1"] == 0.5


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"layer_weights": {name: 0.0 for name in STYLE_LAYERS}}, "at least one layer"),
        ({"layer_weights": {"relu1_1": -1.0}}, "non-negative"),
        ({"layer_weights": {"conv1_1": 1.0}}, "unknown style layer"),
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"tv_weight": -1e-3}, "TV weight"),
        ({"size": 8}, "at least 32"),
        ({"steps": 0}, "steps"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"init": "random"}, "init"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(changes, words):
    with pytest.raises(ValueError, match=words):
        settings_to_options(Settings(**changes))


def test_preview_options_shrink_size_and_steps_without_touching_the_input():
    options = settings_to_options(Settings(size=384, steps=200))
    quick = preview_options(options, size=128, steps=15)
    assert quick["size"] == 128 and quick["steps"] == 15
    assert {k: v for k, v in quick.items() if k not in ("size", "steps")} == {
        k: v for k, v in options.items() if k not in ("size", "steps")
    }
    assert options["size"] == 384 and options["steps"] == 200
    assert preview_options(options, size=128, steps=500)["steps"] == 200


def test_no_preview_stage_when_the_result_is_small():
    assert preview_options(settings_to_options(Settings(size=128)), size=128, steps=15) is None


def test_settings_round_trip_through_json():
    settings = Settings(content="a.png", ratio=3e-5, tv_weight=1e-4, size=192, optimizer="adam", seed=7)
    back = Settings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert back == settings and back.layer_weights is not settings.layer_weights
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.from_dict({"colour": "red"})


def test_updated_copies_the_layer_weights():
    settings = Settings()
    other = settings.updated(size=64)
    other.layer_weights["relu1_1"] = 1.0
    assert settings.layer_weights["relu1_1"] == 0.2 and other.size == 64 and settings.size == 256
    weights = {name: 1.0 for name in STYLE_LAYERS}
    third = settings.updated(layer_weights=weights)
    assert third.layer_weights == weights and third.layer_weights is not weights


def test_metadata_holds_settings_and_options_as_json():
    settings = Settings(steps=33)
    options = settings_to_options(settings)
    metadata = settings_metadata(settings, options)
    assert all(isinstance(v, str) for v in metadata.values())
    assert Settings.from_dict(json.loads(metadata["nst:settings"])) == settings
    assert json.loads(metadata["nst:options"]) == json.loads(json.dumps(options))
    assert "33 lbfgs" in metadata["Description"] == describe_settings(settings)

