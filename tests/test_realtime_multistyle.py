import numpy as np
import pytest
import realtime_oracle as oracle
import torch

from helpers.realtime import NUM_STYLES, MultiStyleNetwork, load_multistyle
from helpers.realtime.multistyle import multistyle_state_dict


@pytest.fixture(scope="module")
def photo(data_dir):
    from PIL import Image

    image = np.asarray(Image.open(data_dir / "chelsea.png").convert("RGB").resize((132, 88)), dtype=np.float32) / 255
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None])  # (1, 3, 88, 132): multiples of 4


def run_port(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return load_multistyle()(torch.from_numpy(image), torch.from_numpy(weights)[None]).numpy()


def test_state_dict_fills_every_parameter_and_nothing_else():
    assert set(multistyle_state_dict()) == set(MultiStyleNetwork().state_dict())


@pytest.mark.parametrize("style", [0, 7, 19])
def test_matches_onnx_for_single_styles(photo, style):
    weights = np.eye(NUM_STYLES, dtype=np.float32)[style]
    np.testing.assert_allclose(run_port(photo, weights), oracle.multistyle(photo, weights), rtol=0, atol=1e-4)


def test_matches_onnx_for_a_mix(photo):
    weights = np.zeros(NUM_STYLES, np.float32)
    weights[[3, 12, 20]] = [0.5, 0.3, 0.2]
    np.testing.assert_allclose(run_port(photo, weights), oracle.multistyle(photo, weights), rtol=0, atol=1e-4)


def test_styles_differ(photo):
    first, second = (run_port(photo, np.eye(NUM_STYLES, dtype=np.float32)[i]) for i in (0, 1))
    assert np.abs(first - second).mean() > 0.05


def test_gamma_and_beta_are_linear_in_the_weights():
    norm = load_multistyle().residual[2].conv1.norm
    a, b = torch.eye(NUM_STYLES)[[4]], torch.eye(NUM_STYLES)[[9]]
    mixed_gamma, mixed_beta = norm.gamma_beta(0.25 * a + 0.75 * b)
    (ga, ba), (gb, bb) = norm.gamma_beta(a), norm.gamma_beta(b)
    torch.testing.assert_close(mixed_gamma, 0.25 * ga + 0.75 * gb)
    torch.testing.assert_close(mixed_beta, 0.25 * ba + 0.75 * bb)


def test_odd_sizes_come_back_at_their_own_size(generator):
    out = load_multistyle()(torch.rand(2, 3, 97, 131, generator=generator), torch.eye(NUM_STYLES)[[5]])
    assert out.shape == (2, 3, 97, 131) and torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
