import json

import pytest
import torch

import helpers
from helpers import normalization


@pytest.fixture(scope="module")
def images(data_dir):
    return [helpers.load_image(data_dir / name, max_size=64) for name in ("chelsea.png", "great_wave.jpg")]


def test_folded_network_gives_raw_features_divided_by_each_filters_mean(caffe_vgg, images):
    means = normalization.filter_means(caffe_vgg, images)
    folded = helpers.VGGFeatures(
        normalization.normalized_state_dict(normalization._caffe_state(), means), "caffe-normalized"
    )
    image = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    layers = ["relu1_1", "relu2_1", "relu3_3", "relu5_1", "relu5_4"]
    with torch.no_grad():
        raw, ours = caffe_vgg(image, layers), folded(image, layers)
    for name in layers:
        scale = torch.where(means[name] > 0, means[name], torch.ones_like(means[name]))  # a filter that never fired
        expected = raw[name] / scale.float().view(1, -1, 1, 1)
        torch.testing.assert_close(ours[name], expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max()))


def test_every_filter_averages_one_over_the_images_it_was_measured_on(caffe_vgg, images):
    means = normalization.filter_means(caffe_vgg, images)
    folded = helpers.VGGFeatures(
        normalization.normalized_state_dict(normalization._caffe_state(), means), "caffe-normalized"
    )
    again = normalization.filter_means(folded, images)
    for name in normalization.RELU_LAYERS:
        fired = means[name] > 0
        torch.testing.assert_close(again[name][fired], torch.ones_like(again[name][fired]), rtol=1e-3, atol=1e-4)
        assert bool((again[name][~fired] == 0).all())


def test_stored_table_covers_every_filter_of_the_bundled_images(data_dir):
    stored = json.loads(normalization.FILTER_MEANS_FILE.read_text())
    bundled = sorted(p.name for p in data_dir.iterdir() if p.suffix in (".png", ".jpg"))
    assert stored["images"] == bundled and stored["sizes"] == [256, 512]
    means = normalization.stored_filter_means()
    assert [len(means[name]) for name in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_4")] == [
        64,
        128,
        256,
        512,
        512,
    ]
    assert all(bool((values > 0).all()) for values in means.values())


def test_caffe_normalized_weights_rescale_channels_inside_the_gram_matrix(caffe_vgg, images):
    normalized = helpers.load_vgg19("caffe-normalized")
    means = normalization.stored_filter_means()["relu3_1"].float()
    with torch.no_grad():
        raw_gram = helpers.gram_matrix(caffe_vgg(images[0], ["relu3_1"])["relu3_1"])[0]
        gram = helpers.gram_matrix(normalized(images[0], ["relu3_1"])["relu3_1"])[0]
    torch.testing.assert_close(gram, raw_gram / torch.outer(means, means), rtol=1e-3, atol=1e-6)
    assert normalized.weights == "caffe-normalized"
    torch.testing.assert_close(normalized.preprocess(images[0]), caffe_vgg.preprocess(images[0]))


def test_filter_means_needs_an_image(caffe_vgg):
    with pytest.raises(ValueError, match="images is empty"):
        normalization.filter_means(caffe_vgg, [])


def test_folding_keeps_the_weights_on_their_device():
    state = {key: value.to("meta") for key, value in normalization._caffe_state().items()}
    folded = normalization.normalized_state_dict(state)
    assert all(value.device.type == "meta" for value in folded.values())
