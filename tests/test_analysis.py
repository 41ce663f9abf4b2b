import pytest
import torch
from torch import nn

import helpers
from helpers import analysis


def _ones_geometry(deepest: str) -> nn.Sequential:
    """One-channel VGG19 geometry with all-ones 3x3 kernels and average pooling: every input pixel
    inside a unit's receptive field gets a positive gradient, every pixel outside gets zero."""
    layers = []
    for name in helpers.LAYER_NAMES[: helpers.TORCHVISION_INDEX[deepest] + 1]:
        if name.startswith("conv"):
            conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        elif name.startswith("pool"):
            layers.append(nn.AvgPool2d(2, 2))
        else:
            layers.append(nn.Identity())
    return nn.Sequential(*layers)


def test_names_follow_the_network():
    table = analysis.layer_table(64)
    assert tuple(row.name for row in table) == helpers.LAYER_NAMES


@pytest.mark.parametrize("size", [(64, 64), (45, 70)])
def test_shapes_match_the_extractor(caffe_vgg, size):
    table = analysis.layer_table(*size)
    image = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = caffe_vgg(image, layers=helpers.LAYER_NAMES)
    for row in table:
        assert tuple(features[row.name].shape[1:]) == (row.channels, row.height, row.width), row


@pytest.mark.parametrize(
    "layer, expected",
    [
        ("conv1_1", 3),
        ("relu1_2", 5),
        ("pool1", 6),
        ("relu2_1", 10),
        ("relu3_1", 24),
        ("relu4_1", 68),
        ("relu4_2", 84),
        ("relu5_1", 156),
        ("conv5_4", 252),
        ("pool5", 268),
    ],
)
def test_receptive_field_known_values(layer, expected):
    assert analysis.receptive_field(layer) == expected


@pytest.mark.parametrize("layer", ["relu1_1", "pool1", "relu2_2", "relu3_1", "pool3", "relu4_2"])
def test_receptive_field_matches_gradient_support(layer):
    size = 256
    row = analysis.layer_table(size, deepest=layer)[-1]
    image = torch.zeros(1, 1, size, size, requires_grad=True)
    out = _ones_geometry(layer)(image)
    out[0, 0, row.height // 2, row.width // 2].backward()
    support = (image.grad[0, 0] > 0).nonzero()
    assert support[:, 0].max() - support[:, 0].min() + 1 == row.receptive_field
    assert support[:, 1].max() - support[:, 1].min() + 1 == row.receptive_field


def test_stride_doubles_at_each_pool():
    table = {row.name: row for row in analysis.layer_table(224)}
    assert [table[f"pool{b}"].stride for b in range(1, 6)] == [2, 4, 8, 16, 32]
    assert table["relu4_2"].positions == 28 * 28


def test_too_small_image_and_bad_arguments():
    with pytest.raises(helpers.ImageTooSmallError):
        analysis.layer_table(16)
    assert analysis.layer_table(16, deepest="relu5_4")[-1].height == 1
    with pytest.raises(ValueError):
        analysis.layer_table(0)
    with pytest.raises(ValueError, match="unknown"):
        analysis.layer_table(64, deepest="conv_4")


def test_gram_cost_counts_match_a_real_product():
    cost = analysis.gram_cost(channels=3, positions=10)
    assert (cost.multiply_adds, cost.gram_numbers, cost.feature_numbers) == (90, 9, 30)
    features = torch.ones(1, 3, 2, 5)
    assert helpers.gram_matrix(features).numel() == cost.gram_numbers
    with pytest.raises(ValueError):
        analysis.gram_cost(0, 10)


def test_markdown_table():
    text = analysis.markdown_table([["relu1_1", 64], ["relu2_1", 128]], headers=["layer", "C"])
    assert text.splitlines() == ["| layer | C |", "|---|---:|", "| relu1_1 | 64 |", "| relu2_1 | 128 |"]
    with pytest.raises(ValueError):
        analysis.markdown_table([["a"]], headers=["x", "y"])
