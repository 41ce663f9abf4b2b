import numpy as np
import pytest
import realtime_oracle as oracle
import torch

from helpers.realtime import StyleTransformer, load_transformer
from helpers.realtime.transformer import transformer_state_dict

PAIRS = [("chelsea.png", "starry_night.jpg"), ("astronaut.png", "the_scream.jpg"), ("rocket.jpg", "great_wave.jpg")]


def run_port(content_nhwc: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        out = load_transformer()(torch.from_numpy(content_nhwc).permute(0, 3, 1, 2), torch.from_numpy(embedding))
    return out.permute(0, 2, 3, 1).numpy()


@pytest.fixture(scope="module")
def pairs(data_dir):
    inputs = []
    for photo, painting in PAIRS:
        content = oracle.square_nhwc(data_dir / photo, 384)
        inputs.append((photo, painting, content, oracle.predict(oracle.square_nhwc(data_dir / painting, 256))))
    return inputs


def test_state_dict_fills_every_parameter_and_nothing_else():
    state = transformer_state_dict()
    assert set(state) == set(StyleTransformer().state_dict())
    assert state["residual.0.conv1.norm.to_gamma.weight"].shape == (32, 100)


def test_matches_the_graph_with_float_activations(pairs):
    _, _, content, embedding = pairs[0]
    expected = oracle.transform(content, embedding, float_activations=True)
    np.testing.assert_allclose(run_port(content, embedding), expected, rtol=0, atol=1e-4)


def test_close_to_the_int8_graph_on_bundled_photos_and_paintings(pairs):
    """Mean absolute pixel difference (0-1 scale) per pair: measured 0.034, 0.020, 0.063."""
    errors = {
        f"{photo}+{painting}": float(np.abs(run_port(c, e) - oracle.transform(c, e)).mean())
        for photo, painting, c, e in pairs
    }
    assert max(errors.values()) < 0.07, errors
    assert np.mean(list(errors.values())) < 0.045, errors


def test_swapping_gamma_and_beta_would_be_caught(pairs):
    _, _, content, embedding = pairs[0]
    broken = StyleTransformer()
    state = transformer_state_dict()
    for key in [k for k in state if ".to_gamma." in k]:
        other = key.replace(".to_gamma.", ".to_beta.")
        state[key], state[other] = state[other], state[key]
    broken.load_state_dict(state)
    with torch.inference_mode():
        out = broken(torch.from_numpy(content).permute(0, 3, 1, 2), torch.from_numpy(embedding)).permute(0, 2, 3, 1)
    assert np.abs(out.numpy() - oracle.transform(content, embedding)).mean() > 0.1


def test_odd_sizes_come_back_at_their_own_size(generator):
    content = torch.rand(1, 3, 97, 131, generator=generator)
    out = load_transformer()(content, torch.randn(1, 100, generator=generator))
    assert out.shape == (1, 3, 97, 131)
    assert torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


def test_prints_its_parts():
    text = repr(load_transformer())
    for part in (
        "(contract): Sequential",
        "(residual): ModuleList",
        "(expand): ModuleList",
        "ConditionalInstanceNorm",
        "padding_mode=reflect",
        "Sigmoid",
        "Upsample(scale_factor=2.0, mode='nearest')",
    ):
        assert part in text
