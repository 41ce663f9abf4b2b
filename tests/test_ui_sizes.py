import pytest
import torch

from helpers.errors import ImageTooSmallError
from helpers.images import resize_image
from helpers.pyramid import plan_levels
from helpers.ui.settings import STYLE_LAYERS, Settings, settings_to_options
from helpers.ui.sizes import enlargement_note, layers_in_use, picture_problem, plan_stages, stage_shape

ALL = list(STYLE_LAYERS)


@pytest.mark.parametrize(("shape", "size"), [((30, 40), 256), ((3000, 40), 128), ((1, 1), 64), ((17, 9), 100)])
def test_stage_shape_is_the_shape_the_engine_resizes_to(shape, size):
    assert stage_shape((1, 3, *shape), size) == tuple(
        resize_image(torch.zeros(1, 3, *shape), size, upscale=True).shape[-2:]
    )


def test_the_content_layer_is_always_in_use_deepest_first():
    assert layers_in_use({"relu1_1": 1.0}) == ["relu4_2", "relu1_1"]
    assert layers_in_use(ALL)[:2] == ["relu5_1", "relu4_2"]


def test_a_picture_smaller_than_the_deepest_layer_sees_is_named_with_what_to_do():
    message = picture_problem("me.png", (1, 3, 8, 8), ALL)
    assert message.startswith("me.png is 8×8 px") and "relu5_1" in message and "16 px" in message
    assert "turn off relu5_1" in message and "relu4_2" not in message
    assert picture_problem("me.png", (1, 3, 8, 8), ALL[:4]) is None
    tiny = picture_problem("dot.png", (1, 3, 1, 1), ["relu1_1"])
    assert "relu4_2" in tiny and "always on" in tiny and "turn off" not in tiny


def test_an_elongated_picture_is_checked_at_the_size_it_is_scaled_to():
    message = picture_problem("the content picture pano.png", (1, 3, 40, 2000), ALL, size=256)
    assert "at 256 px the content picture pano.png (2000×40 px) becomes 256×5 px" in message
    assert "relu5_1" in message and "always on" in message and "size=" not in message
    assert picture_problem("the content picture pano.png", (1, 3, 40, 2000), ALL, size=1024) is None


def test_the_quick_stage_is_left_out_when_it_is_too_small_for_the_layers():
    options = settings_to_options(Settings(size=512, steps=20))
    wide = {"content": (1, 3, 60, 1000), "style": (1, 3, 64, 64)}
    assert [label for label, _ in plan_stages(options, wide, 128, 8)] == ["full size"]
    square = {"content": (1, 3, 600, 1000), "style": (1, 3, 64, 64)}
    assert [(label, stage["size"]) for label, stage in plan_stages(options, square, 128, 8)] == [
        ("quick preview", 128),
        ("full size", 512),
    ]


def test_plan_stages_refuses_what_the_engine_would_refuse_or_enlarge_from_nothing():
    options = settings_to_options(Settings(size=128, steps=5))
    with pytest.raises(ValueError, match="relu5_1"):
        plan_stages(options, {"the content picture": (1, 3, 8, 8), "the style picture": (1, 3, 64, 64)}, 128, 8)
    with pytest.raises(ValueError, match="becomes 128×3 px"):
        plan_stages(options, {"the content picture": (1, 3, 30, 1280), "the style picture": (1, 3, 64, 64)}, 128, 8)


@pytest.mark.parametrize("shape", [(30, 1280), (60, 1000), (16, 16), (200, 300), (8, 2000)])
@pytest.mark.parametrize("layers", [ALL, ALL[:3]])
def test_plan_stages_agrees_with_the_engines_own_check_at_full_size(shape, layers):
    options = settings_to_options(Settings(size=128, steps=5, layer_weights={n: 1.0 for n in layers}))
    content, style = torch.rand(1, 3, *shape), torch.rand(1, 3, 64, 64)
    deepest = layers_in_use(layers)[0]
    try:
        plan_levels(content, [style], 128, 1.0, 1, deepest)
        engine_refuses = False
    except ImageTooSmallError:
        engine_refuses = True
    try:
        plan_stages(options, {"content": content.shape, "style": style.shape}, 64, 4)
        playground_refuses = False
    except ValueError:
        playground_refuses = True
    assert playground_refuses >= engine_refuses
    if min(shape) >= 16:
        assert playground_refuses == engine_refuses


def test_an_enlargement_over_four_times_is_noted():
    assert enlargement_note("me.png", (1, 3, 24, 20), 256) == (
        "me.png is 20×24 px: at 256 px it is enlarged 11×, so expect a blurry result"
    )
    assert enlargement_note("me.png", (1, 3, 64, 64), 256) is None


def test_a_real_time_start_needs_no_quick_stage():
    options = settings_to_options(Settings(size=512, steps=20, init="fast"))
    square = {"content": (1, 3, 600, 1000), "style": (1, 3, 64, 64)}
    assert [(label, stage["init"]) for label, stage in plan_stages(options, square, 128, 8)] == [("full size", "fast")]
