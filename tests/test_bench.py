import json
import re
import sys
from pathlib import Path

import pytest
import torch

import helpers
from helpers.objective import StyleObjective
from helpers.options import StyleOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import time_to_quality as bench  # noqa: E402


@pytest.fixture(scope="module")
def pair(data_dir):
    content, style = helpers.load_image(data_dir / "chelsea.png"), helpers.load_image(data_dir / "starry_night.jpg")
    return bench.seed_images(content, style, 64)  # both (1, 3, 43, 64): the seed walks through pool5


def test_seed_images_share_one_shape(pair):
    assert pair[0].shape == pair[1].shape == (1, 3, 43, 64)
    assert 0 <= pair[1].min() and pair[1].max() <= 1


def test_seed_loss_matches_a_hand_computation(generator):
    shapes = {
        "relu1_1": (4, 6, 5),
        "relu2_1": (6, 3, 3),
        "relu3_1": (5, 2, 2),
        "relu4_1": (3, 2, 1),
        "relu5_1": (2, 1, 1),
        "relu4_2": (3, 2, 1),
    }
    features = {name: torch.rand(1, *shape, generator=generator, dtype=torch.float64) for name, shape in shapes.items()}
    content_target = torch.rand(1, 3, 2, 1, generator=generator, dtype=torch.float64)
    style_grams = {
        name: torch.rand(shapes[name][0], shapes[name][0], generator=generator, dtype=torch.float64)
        for name in bench.SEED_STYLE_WEIGHTS
    }
    expected = ((features["relu4_2"] - content_target) ** 2).sum() / 6
    for name, weight in zip(bench.SEED_STYLE_WEIGHTS, [1, 0.75, 0.2, 0.2, 0.2]):
        d, h, w = shapes[name]
        gram = torch.einsum("ik,jk->ij", features[name].reshape(d, -1), features[name].reshape(d, -1))
        expected += 1e6 * weight * ((gram - style_grams[name]) ** 2).sum() / (d * d) / (d * h * w)
    actual = bench.seed_loss(features, content_target, style_grams)
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=0)


def test_the_seeds_conv_features_are_relu_outputs(caffe_vgg, pair):
    network = bench.seed_network(caffe_vgg)
    with torch.no_grad():
        walked = bench.seed_features(network, caffe_vgg, pair[0])
        ours = caffe_vgg(pair[0], bench.SeedObjective.layers)
    for name in bench.SeedObjective.layers:
        torch.testing.assert_close(walked[name], ours[name])
        assert walked[name].min() >= 0
    assert all(p.requires_grad for p in network.parameters())


def test_stylize_objective_with_seed_weights_equals_the_seed_loss(caffe_vgg, pair, generator):
    content, style = pair
    image = torch.rand(1, 3, 43, 64, generator=generator)
    options = StyleOptions(
        content_layers={"relu4_2": 1.0},
        style_layers=bench.seed_style_layers(content),
        content_weight=1.0,
        style_weight=1e6,
        units="raw",
    )
    objective = StyleObjective(caffe_vgg, content, [style], options)
    with torch.no_grad():
        total, _ = objective(image)
    assert float(total) == pytest.approx(bench.SeedObjective(caffe_vgg, content, style)(image), rel=1e-5)


def test_seed_loop_lowers_the_seed_loss(caffe_vgg, pair):
    content, style = pair
    losses = []
    result = bench.run_seed(caffe_vgg, content, style, 4, on_step=lambda step, loss: losses.append(loss))
    assert len(losses) == 4 and losses[-1] < losses[0] and len(result["step_times"]) == 4
    assert bench.SeedObjective(caffe_vgg, content, style)(result["image"]) < losses[0]


def test_quick_benchmark_end_to_end(tmp_path, capsys):
    report = bench.main(
        [
            "--quick",
            "--size",
            "64",
            "--seed-steps",
            "4",
            "--steps",
            "40",
            "--threads",
            "1",
            "--no-gpu",
            "--out",
            str(tmp_path),
        ]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"time-to-seed-quality speedup: \d+\.\dx", lines[-1])
    saved = json.loads(next(tmp_path.glob("time_to_quality-quick-*.json")).read_text())
    ours = saved["cpu"]["engine"]["fp32"]
    assert ours["reached"] and ours["final_loss"] <= saved["cpu"]["seed_final_loss"]
    assert saved["machine"]["torch"] == torch.__version__ and report["cpu"]["size"] == [43, 64]
