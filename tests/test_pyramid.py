import pytest
import torch

import helpers
from helpers.pyramid import level_sizes, plan_levels, resize_to, start_image


def test_level_sizes_halve_and_drop_levels_too_small_for_the_layers():
    assert level_sizes(256, 3, 1.0, 16) == [64, 128, 256]
    assert level_sizes(256, 3, 0.5, 16) == [64, 128, 256]  # the short side at 64 is 32 = 2 x 16: kept
    assert level_sizes(256, 3, 0.4, 16) == [128, 256]
    assert level_sizes(100, 1, 1.0, 16) == [100]


def test_plan_levels_keeps_aspect_and_scales_the_style():
    content, style = torch.rand(1, 3, 60, 120), torch.rand(1, 3, 90, 90)
    plan = plan_levels(content, [style], 96, 0.5, 2, "relu3_1")
    assert [tuple(level[0].shape[-2:]) for level in plan] == [(24, 48), (48, 96)]
    assert [tuple(level[1][0].shape[-2:]) for level in plan] == [(24, 24), (48, 48)]
    assert plan_levels(None, [style], 64, 1.0, 1, "relu1_1")[0][0] is None


def test_plan_levels_refuses_a_final_level_too_small_naming_the_image():
    with pytest.raises(helpers.ImageTooSmallError, match="content image at size=20 is 10x20 px.*relu5_1.*16x16"):
        plan_levels(torch.rand(1, 3, 30, 60), [torch.rand(1, 3, 64, 64)], 20, 1.0, 1, "relu5_1")


def test_start_image_from_noise_content_style_or_a_tensor():
    content, style = torch.rand(1, 3, 20, 30), torch.rand(1, 3, 40, 40)
    noise = start_image("noise", content, style, (1, 3, 20, 30), seed=5)
    assert torch.equal(noise, start_image("noise", None, None, (1, 3, 20, 30), seed=5))
    assert 0 <= noise.min() and noise.max() <= 1
    torch.testing.assert_close(start_image("content", content, style, (1, 3, 20, 30), 0), content)
    assert start_image("style", content, style, (1, 3, 20, 30), 0).shape == (1, 3, 20, 30)
    grey = start_image(torch.full((3, 5, 5), 128, dtype=torch.uint8), None, None, (1, 3, 10, 10), 0)
    torch.testing.assert_close(grey, torch.full((1, 3, 10, 10), 128 / 255))
    with pytest.raises(ValueError, match="init='style' needs a style image"):
        start_image("style", content, None, (1, 3, 20, 30), 0)


def test_resize_to_takes_height_and_width_from_a_shape():
    image = torch.rand(1, 3, 8, 12)
    assert resize_to(image, (1, 3, 16, 24)).shape == (1, 3, 16, 24)
    torch.testing.assert_close(resize_to(image, image.shape), image)
