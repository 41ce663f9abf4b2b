import math

import pytest
import torch

from helpers.options import DEFAULT_STYLE_LAYERS, StyleOptions, layer_weights


def test_layer_weights_from_a_name_a_list_or_a_mapping():
    assert layer_weights("relu4_2", "content_layers") == {"relu4_2": 1.0}
    assert layer_weights(["relu1_1", "relu2_1"], "style_layers") == {"relu1_1": 0.5, "relu2_1": 0.5}
    assert layer_weights({"relu1_1": 2, "relu3_1": 0}, "style_layers") == {"relu1_1": 2.0, "relu3_1": 0.0}
    assert layer_weights([], "style_layers", allow_empty=True) == {}


@pytest.mark.parametrize(
    "spec, message",
    [
        ([], "style_layers is empty"),
        (["relu9_9"], "style_layers: unknown VGG19 layer.*relu4_2"),
        ({"relu1_1": -1.0}, "finite and non-negative"),
        ({"relu1_1": math.nan}, "finite and non-negative"),
        ({"relu1_1": 0.0, "relu2_1": 0.0}, "every layer weight is 0"),
    ],
)
def test_layer_weights_refuse_what_would_run_silently_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        layer_weights(spec, "style_layers")


def test_defaults_are_balanced_units_with_equal_layer_weights():
    options = StyleOptions()
    assert options.units == "balanced" and (options.content_weight, options.style_weight) == (0.1, 1.0)
    assert options.style_layers == dict(DEFAULT_STYLE_LAYERS) and set(options.style_layers.values()) == {1.0}
    assert options.steps == 150 and StyleOptions(optimizer="adam").steps == 300
    assert options.deepest_layer == "relu5_1"


def test_options_are_frozen_and_updated_copies_are_checked_again():
    options = StyleOptions()
    with pytest.raises(AttributeError):
        options.steps = 3
    assert options.updated(steps=3).steps == 3 and options.steps == 150
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        options.updated(lr=-0.1)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lr": -0.01}, "lr"),
        ({"lr": 0.0}, "lr"),
        ({"style_weight": math.nan}, "style_weight"),
        ({"content_weight": -1.0}, "content_weight"),
        ({"tv_weight": math.inf}, "tv_weight"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"pyramid": 0}, "pyramid"),
        ({"size": 0}, "size"),
        ({"seed": -1}, "seed"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"units": "paper"}, "units"),
        ({"precision": "fp16"}, "precision"),
        ({"weights": "imagenet"}, "weights"),
        ({"init": "paint"}, "init"),
        ({"style_scale": 0.0}, "style_scale"),
        ({"content_layers": {}, "style_layers": {}}, "both empty"),
    ],
)
def test_bad_options_name_the_setting(changes, message):
    with pytest.raises(ValueError, match=message):
        StyleOptions(**changes)


def test_to_dict_is_plain_values_and_names_every_field():
    values = StyleOptions(init=torch.zeros(1, 3, 4, 5)).to_dict()
    assert values["init"] == "image (1, 3, 4, 5)" and list(values) == list(StyleOptions.names())
    assert (
        "Likely cause" in StyleOptions().failure_hint() and "lr=0.02" in StyleOptions(optimizer="adam").failure_hint()
    )
