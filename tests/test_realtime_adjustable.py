import hashlib
import json
import math
import subprocess
import sys

import pytest
import torch

import helpers
from helpers import ImageTooSmallError
from helpers.realtime import adjustable, fast_stylize, style_embedding
from helpers.realtime.adjustable import (
    CHECKPOINT,
    MANIFEST,
    STYLE_LAYERS,
    WeightConditioner,
    adjustable_stylize,
    load_conditioner,
    weight_features,
)
from helpers.realtime.adjustable_eval import held_out_pairs, score
from helpers.realtime.adjustable_train import AdjustableModel, Setting

EQUAL = {name: 1.0 for name in STYLE_LAYERS}


@pytest.fixture(scope="module")
def photo(data_dir):
    return helpers.load_image(data_dir / "grace_hopper.jpg", max_size=96)


@pytest.fixture(scope="module")
def painting(data_dir):
    return helpers.load_image(data_dir / "the_scream.jpg", max_size=96)


@pytest.fixture(scope="module")
def embedding(painting):
    return style_embedding(painting)


def test_output_has_the_content_size_and_is_an_image(photo, painting):
    out = adjustable_stylize(photo, painting, style_layers=EQUAL, content_weight=0.1)
    assert out.shape == photo.shape and out.dtype == torch.float32
    assert 0 < out.min() and out.max() < 1  # the transformer ends in a sigmoid
    assert (out - photo).abs().mean() > 0.02  # it painted something


@pytest.mark.parametrize("shape", [(33, 47), (16, 16), (61, 20)])
def test_odd_sizes_come_back_at_their_own_size(shape, embedding):
    content = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(0))
    assert adjustable_stylize(content, embedding=embedding).shape == (1, 3, *shape)


def test_a_batch_of_photos_shares_one_painting(photo, painting):
    batch = torch.cat([photo, photo.flip(-1)])
    out = adjustable_stylize(batch, painting)
    assert out.shape == batch.shape
    torch.testing.assert_close(out[:1], adjustable_stylize(photo, painting))


def test_same_inputs_give_bit_identical_outputs(photo, embedding):
    first = adjustable_stylize(photo, embedding=embedding, style_layers={"relu2_1": 3.0, "relu5_1": 0.2})
    second = adjustable_stylize(photo, embedding=embedding, style_layers={"relu2_1": 3.0, "relu5_1": 0.2})
    assert torch.equal(first, second)


def test_the_weights_change_the_picture(photo, embedding):
    soft = adjustable_stylize(photo, embedding=embedding, content_weight=100.0)
    strong = adjustable_stylize(photo, embedding=embedding, content_weight=0.001)
    assert (soft - strong).abs().mean() > 0.01


def test_style_image_and_embedding_give_the_same_picture(photo, painting, embedding):
    torch.testing.assert_close(adjustable_stylize(photo, painting), adjustable_stylize(photo, embedding=embedding))


def test_checkpoint_matches_its_manifest():
    manifest = json.loads(MANIFEST.read_text())
    assert hashlib.sha256(CHECKPOINT.read_bytes()).hexdigest() == manifest["checkpoint_sha256"]
    assert CHECKPOINT.stat().st_size == manifest["checkpoint_bytes"] < 1_000_000
    assert manifest["parameters"] == sum(p.numel() for p in load_conditioner().parameters())
    trained = {source["file"] for source in manifest["trained_on"]}
    held_out = set(manifest["held_out"]["photos"]) | set(manifest["held_out"]["paintings"])
    assert held_out == {"grace_hopper.jpg", "the_scream.jpg", "woman_with_a_hat.jpg"} and not trained & held_out
    assert len(manifest["loss_history"]) == manifest["steps"]


def test_the_conditioner_is_loaded_once_and_frozen():
    first = load_conditioner()
    assert load_conditioner("cpu") is first and not first.training
    assert not any(p.requires_grad for p in first.parameters())


def test_a_damaged_checkpoint_is_refused(tmp_path, monkeypatch):
    broken = tmp_path / "adjustable.pt"
    data = bytearray(CHECKPOINT.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of the weights flipped
    broken.write_bytes(bytes(data))
    monkeypatch.setattr(adjustable, "CHECKPOINT", broken)
    adjustable._load.cache_clear()
    try:
        with pytest.raises(helpers.WeightsUnavailableError, match="SHA-256"):
            load_conditioner()
    finally:
        adjustable._load.cache_clear()


def test_weight_features_by_hand():
    features = weight_features(1.0, 10.0, {"relu1_1": 3.0, "relu3_1": 1.0})
    floor = math.log10(adjustable.SHARE_FLOOR) / 5
    expected = [math.log10(0.1) / 3, math.log10(0.75) / 5, floor, math.log10(0.25) / 5, floor, floor]
    torch.testing.assert_close(features, torch.tensor([expected]))


def test_weight_features_read_only_proportions_and_clamp_the_ratio():
    base = weight_features(0.1, 1.0, {"relu1_1": 1.0, "relu4_1": 2.0})
    torch.testing.assert_close(weight_features(1.0, 10.0, {"relu1_1": 5.0, "relu4_1": 10.0}), base)
    torch.testing.assert_close(weight_features(0.1, 1.0, {"relu1_1": 1.0, "relu4_1": 2.0, "relu5_1": 0.0}), base)
    assert weight_features(1e6, 1.0, EQUAL)[0, 0] == pytest.approx(1.0)
    assert weight_features(0.0, 1.0, EQUAL)[0, 0] == pytest.approx(-1.0)
    torch.testing.assert_close(weight_features(0.1, 1.0, list(STYLE_LAYERS)), weight_features(0.1, 1.0, EQUAL))


def test_an_untrained_conditioner_is_fast_stylize(photo, painting, embedding):
    model = AdjustableModel(WeightConditioner())
    with torch.no_grad():
        out = model(photo, embedding, weight_features(0.1, 1.0, EQUAL))
    torch.testing.assert_close(out.contiguous(), fast_stylize(photo, painting))


def test_the_sliders_move_their_terms_on_a_held_out_pair():
    (pair, *_) = held_out_pairs(96)
    assert pair.name == "grace_hopper + the_scream"

    def terms(setting):
        image = adjustable_stylize(
            pair.content,
            embedding=pair.embedding,
            style_layers=dict(setting.style_layers),
            content_weight=setting.ratio,
        )
        return score(pair, image, setting)

    measured = {"relu1_1": 0.889, "relu2_1": 0.971, "relu3_1": 0.970, "relu5_1": 0.962}  # relu4_1: 1.003 (rises)
    for layer, ratio in measured.items():
        low, high = Setting(0.1, EQUAL | {layer: 0.1}), Setting(0.1, EQUAL | {layer: 10.0})
        falls = terms(high)["style_layers"][layer] / terms(low)["style_layers"][layer]
        assert falls == pytest.approx(ratio, abs=0.005) and falls < 0.99, layer
    strong, soft = terms(Setting(0.01, EQUAL)), terms(Setting(10.0, EQUAL))
    assert soft["content"] < 0.9 * strong["content"] and soft["style"] > strong["style"]  # 0.85 measured


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"style_layers": {"relu4_2": 1.0}}, ValueError, "knows only"),
        ({"style_layers": {"relu9_9": 1.0}}, ValueError, "relu9_9"),
        ({"style_layers": {"relu1_1": -1.0}}, ValueError, "non-negative"),
        ({"style_layers": {"relu1_1": 0.0}}, ValueError, "every layer weight is 0"),
        ({"style_layers": {}}, ValueError, "empty"),
        ({"content_weight": float("nan")}, ValueError, "content_weight"),
        ({"content_weight": -1.0}, ValueError, "content_weight"),
        ({"style_weight": 0.0}, ValueError, "style_weight is 0"),
        ({"content_weight": True}, ValueError, "content_weight"),
    ],
)
def test_bad_weights_are_refused_by_name(photo, painting, kwargs, error, match):
    with pytest.raises(error, match=match):
        adjustable_stylize(photo, painting, **kwargs)


def test_bad_images_are_refused_by_name(photo, painting, embedding):
    with pytest.raises(ValueError, match="content_image must be"):
        adjustable_stylize(photo[0], painting)
    with pytest.raises(ValueError, match="content_image must be floating point"):
        adjustable_stylize((photo * 255).to(torch.uint8), painting)
    with pytest.raises(ValueError, match="style_image contains NaN"):
        adjustable_stylize(photo, painting * float("nan"))
    with pytest.raises(ImageTooSmallError, match="at least 16 px"):
        adjustable_stylize(photo[..., :8, :8], painting)
    with pytest.raises(ValueError, match="exactly one of style_image and embedding"):
        adjustable_stylize(photo, painting, embedding=embedding)
    with pytest.raises(ValueError, match="exactly one of style_image and embedding"):
        adjustable_stylize(photo)
    with pytest.raises(ValueError, match="embedding must be a tensor of shape"):
        adjustable_stylize(photo, embedding=embedding[:, :50])


def test_importing_helpers_loads_no_widgets_and_no_weights():
    code = (
        "import sys, helpers, helpers.realtime.adjustable as a; "
        "assert 'ipywidgets' not in sys.modules; assert a._load.cache_info().currsize == 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda_where_the_input_is(photo, painting):
    out = adjustable_stylize(photo.cuda(), painting.cuda(), style_layers={"relu3_1": 2.0, "relu5_1": 1.0})
    assert out.device.type == "cuda"
    expected = adjustable_stylize(photo, painting, style_layers={"relu3_1": 2.0, "relu5_1": 1.0})
    torch.testing.assert_close(out.cpu(), expected, atol=2e-3, rtol=0)
