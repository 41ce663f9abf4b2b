import json

import pytest

from helpers.options import StyleOptions
from helpers.ui.settings import (
    STYLE_LAYERS,
    Settings,
    describe_settings,
    preview_options,
    settings_metadata,
    settings_to_options,
)


def test_default_settings_are_the_engines_defaults_in_balanced_units():
    options = settings_to_options(Settings())
    assert options == {
        "content_layers": {"relu4_2": 1.0},
        "style_layers": dict.fromkeys(STYLE_LAYERS, 1.0),
        "content_weight": 0.1,
        "style_weight": 1.0,
        "tv_weight": 0.01,
        "units": "balanced",
        "init": "content",
        "optimizer": "lbfgs",
        "steps": 150,
        "size": 256,
        "seed": 0,
    }
    engine_defaults = StyleOptions().to_dict()
    checked = StyleOptions(**options).to_dict()
    assert {k: v for k, v in checked.items() if k not in ("steps", "size")} == {
        k: v for k, v in engine_defaults.items() if k not in ("steps", "size")
    }


@pytest.mark.parametrize("ratio", [1e-3, 0.1, 1.0, 2.5e2])
def test_ratio_is_content_weight_over_style_weight(ratio):
    options = settings_to_options(Settings(ratio=ratio))
    assert options["content_weight"] / options["style_weight"] == pytest.approx(ratio)
    assert options["style_weight"] == 1.0


def test_layers_that_are_off_are_left_out_and_order_follows_depth():
    weights = {"relu5_1": 0.3, "relu1_1": 10.0, "relu2_1": 0.0, "relu3_1": 0.0, "relu4_1": 0.5}
    settings = Settings(layer_weights=weights)
    options = settings_to_options(settings)
    assert list(options["style_layers"]) == ["relu1_1", "relu4_1", "relu5_1"] == settings.layers_on()
    assert options["style_layers"] == {"relu1_1": 10.0, "relu4_1": 0.5, "relu5_1": 0.3}


def test_the_seed_reaches_the_engine_only_for_a_noise_start():
    for init in ("content", "style"):
        assert settings_to_options(Settings(init=init, seed=7)) == settings_to_options(Settings(init=init, seed=0))
    assert settings_to_options(Settings(init="noise", seed=7))["seed"] == 7


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"layer_weights": dict.fromkeys(STYLE_LAYERS, 0.0)}, "every style layer is off"),
        ({"layer_weights": {"relu1_1": -1.0}}, "non-negative"),
        ({"layer_weights": {"conv1_1": 1.0}}, "unknown style layer"),
        ({"ratio": 0.0}, "α/β"),
        ({"ratio": float("nan")}, "α/β"),
        ({"tv_weight": -1e-3}, "TV weight"),
        ({"size": 8}, "at least 32"),
        ({"size": 64.0}, "whole number"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"init": "random"}, "init"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(changes, words):
    with pytest.raises(ValueError, match=words):
        settings_to_options(Settings(**changes))


def test_every_option_is_one_the_engine_accepts():
    options = settings_to_options(Settings(init="noise", seed=3, tv_weight=0.0, optimizer="adam"))
    assert StyleOptions(**options).to_dict()["seed"] == 3


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


def test_the_caption_names_off_layers_and_the_seed_only_for_noise():
    settings = Settings(
        layer_weights={"relu1_1": 10.0, "relu2_1": 1.0, "relu3_1": 0.5, "relu4_1": 0.0, "relu5_1": 1.0},
        tv_weight=0.0,
        seed=4,
    )
    text = describe_settings(settings)
    assert "layers 10/1/0.5/off/1" in text and "TV off" in text and "seed" not in text
    assert describe_settings(settings.updated(init="noise")).endswith("init noise · seed 4")


def test_settings_round_trip_through_json():
    settings = Settings(content="a.png", ratio=3e-2, tv_weight=1e-3, size=192, optimizer="adam", seed=7)
    back = Settings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert back == settings and back.layer_weights is not settings.layer_weights
    with pytest.raises(ValueError, match="unknown setting"):
        Settings.from_dict({"colour": "red"})


def test_updated_copies_the_layer_weights():
    settings = Settings()
    other = settings.updated(size=64)
    other.layer_weights["relu1_1"] = 10.0
    assert settings.layer_weights["relu1_1"] == 1.0 and other.size == 64 and settings.size == 256
    weights = dict.fromkeys(STYLE_LAYERS, 2.0)
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
