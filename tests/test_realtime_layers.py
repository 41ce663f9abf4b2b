import pytest
import torch

from helpers.realtime.layers import ConditionalInstanceNorm, ConvLayer, ResidualBlock


def naive_cin(x, gamma, beta, eps):
    """The formula, image by image and channel by channel, in float64."""
    out = torch.empty_like(x, dtype=torch.float64)
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            channel = x[b, c].double()
            mean = channel.sum() / channel.numel()
            var = ((channel - mean) ** 2).sum() / channel.numel()
            out[b, c] = gamma[b, c] * (channel - mean) / torch.sqrt(var + eps) + beta[b, c]
    return out


@pytest.fixture
def norm(generator):
    layer = ConditionalInstanceNorm(4, 6)
    for parameter in layer.parameters():
        parameter.data = torch.randn(parameter.shape, generator=generator)
    return layer


def test_cin_matches_the_formula(norm, generator):
    x = torch.randn(2, 4, 5, 7, generator=generator) * 3 + 2
    condition = torch.randn(2, 6, generator=generator)
    gamma = condition.double() @ norm.to_gamma.weight.double().T + norm.to_gamma.bias.double()
    beta = condition.double() @ norm.to_beta.weight.double().T + norm.to_beta.bias.double()
    expected = naive_cin(x, gamma, beta, norm.eps)
    torch.testing.assert_close(norm(x, condition).double(), expected, rtol=1e-5, atol=1e-5)


def test_cin_output_statistics_are_beta_and_gamma(norm, generator):
    x = torch.randn(1, 4, 32, 32, generator=generator) * 5 - 1
    condition = torch.randn(1, 6, generator=generator)
    y = norm(x, condition)
    gamma, beta = norm.gamma_beta(condition)
    torch.testing.assert_close(y.mean(dim=(2, 3)), beta.view(1, 4), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(y.std(dim=(2, 3), correction=0), gamma.abs().view(1, 4), rtol=1e-4, atol=1e-4)


def test_cin_is_blind_to_the_input_scale_and_shift(norm, generator):
    x = torch.randn(1, 4, 9, 9, generator=generator)
    condition = torch.randn(1, 6, generator=generator)
    torch.testing.assert_close(norm(7 * x + 3, condition), norm(x, condition), rtol=1e-4, atol=1e-4)


def test_cin_one_hot_condition_selects_one_styles_gamma_and_beta(generator):
    layer = ConditionalInstanceNorm(3, 5, bias=False)
    table = torch.randn(3, 5, generator=generator)
    layer.to_gamma.weight.data, layer.to_beta.weight.data = table, -table
    gamma, beta = layer.gamma_beta(torch.eye(5)[[2]])
    assert torch.equal(gamma.view(3), table[:, 2]) and torch.equal(beta.view(3), -table[:, 2])


def test_cin_broadcasts_one_condition_over_the_batch(norm, generator):
    x = torch.randn(3, 4, 6, 6, generator=generator)
    condition = torch.randn(1, 6, generator=generator)
    torch.testing.assert_close(norm(x, condition)[1:2], norm(x[1:2], condition))


def test_cin_of_a_constant_map_is_beta(norm):
    x = torch.full((1, 4, 8, 8), 0.7)
    condition = torch.ones(1, 6)
    _, beta = norm.gamma_beta(condition)
    torch.testing.assert_close(norm(x, condition), beta.expand(1, 4, 8, 8), rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    ("size", "stride", "upsample", "expected"), [(13, 1, 1, 13), (13, 2, 1, 7), (12, 2, 1, 6), (6, 1, 2, 12)]
)
def test_conv_layer_sizes(size, stride, upsample, expected):
    layer = ConvLayer(3, 5, 3, stride=stride, upsample=upsample)
    assert layer(torch.rand(1, 3, size, size + 1)).shape[-2] == expected


def test_conv_layer_pads_by_reflection(generator):
    layer = ConvLayer(1, 1, 3, activation=None)
    layer.conv.weight.data = torch.zeros(1, 1, 3, 3)
    layer.conv.weight.data[0, 0, 0, 1] = 1.0  # output = the pixel above
    layer.conv.bias.data.zero_()
    x = torch.arange(12.0).view(1, 1, 3, 4)
    assert torch.equal(layer(x)[0, 0, 0], x[0, 0, 1])  # above row 0 is row 1, mirrored


def test_conv_layer_rejects_even_kernels_and_unknown_activations():
    with pytest.raises(ValueError, match="odd"):
        ConvLayer(3, 3, 4)
    with pytest.raises(ValueError, match="activation"):
        ConvLayer(3, 3, 3, activation="gelu")


def test_residual_block_is_the_identity_when_its_last_norm_outputs_zero(generator):
    block = ResidualBlock(4, 6)
    for part in (block.conv2.norm.to_gamma, block.conv2.norm.to_beta):
        part.weight.data.zero_()
        part.bias.data.zero_()
    x = torch.randn(2, 4, 8, 8, generator=generator)
    assert torch.equal(block(x, torch.randn(2, 6, generator=generator)), x)
