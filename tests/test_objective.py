import pytest
import torch

from helpers.losses import layer_style_loss
from helpers.objective import gram_mse


def _features(generator, shape, channels_last):
    features = torch.randn(shape, generator=generator)
    if channels_last:
        features = features.contiguous(memory_format=torch.channels_last)
    return features.requires_grad_(True)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape", [(1, 5, 3, 4), (1, 16, 4, 4), (1, 8, 2, 7)])  # (1, 16, 4, 4): C equals H*W
def test_gram_mse_matches_autograd_through_layer_style_loss(generator, shape, channels_last):
    features = _features(generator, shape, channels_last)
    target = torch.randn(shape[1], shape[1], generator=generator)
    target = target @ target.t() / shape[1]
    expected = layer_style_loss(features, target)
    (expected_grad,) = torch.autograd.grad(expected, features)
    value = gram_mse(features, target)
    (grad,) = torch.autograd.grad(value, features)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-7)
    assert grad.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_gram_mse_hand_example():
    # F = [[1, 2], [3, 4]] over M = 2 positions: G = F Fᵀ / 2 = [[2.5, 5.5], [5.5, 12.5]]
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2).requires_grad_(True)
    target = torch.tensor([[2.5, 5.5], [5.5, 10.5]])  # differs only in the last entry, by 2
    loss = gram_mse(features, target)
    assert loss.item() == pytest.approx(4 / 4)  # mean of (0, 0, 0, 2²)
    loss.backward()
    # dL/dF = 4 (G - A) F / (C² M) = (G - A) F / 2, and G - A is 2 at [1, 1] only
    torch.testing.assert_close(features.grad.view(2, 2), torch.tensor([[0.0, 0.0], [3.0, 4.0]]))


def test_gram_mse_in_bf16_autocast_is_float32_with_a_bf16_gradient(generator):
    features = torch.randn(1, 8, 5, 5, generator=generator).bfloat16().requires_grad_(True)
    target = torch.eye(8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = gram_mse(features, target)
    loss.backward()
    assert loss.dtype == torch.float32 and features.grad.dtype == torch.bfloat16
    assert loss.item() == pytest.approx(layer_style_loss(features.detach().float(), target).item(), rel=1e-6)


def test_gram_mse_falls_back_for_a_batch(generator):
    features = torch.randn(2, 3, 4, 4, generator=generator)
    target = torch.eye(3)
    assert gram_mse(features, target).item() == pytest.approx(layer_style_loss(features, target).item())
