import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

import helpers
from helpers.realtime.adjustable import LAYER_WEIGHT_RANGE, RATIO_RANGE, STYLE_LAYERS, TV_WEIGHT
from helpers.realtime.adjustable_train import Setting, boosted, random_crop, sample_setting, setting_objective

ROOT = Path(__file__).resolve().parents[1]

spec = importlib.util.spec_from_file_location("train_adjustable", ROOT / "scripts" / "train_adjustable.py")
train_adjustable = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_adjustable)


def test_settings_are_drawn_log_uniformly_within_the_ranges():
    generator = torch.Generator().manual_seed(0)
    settings = [sample_setting(generator) for _ in range(400)]
    ratios = torch.tensor([math.log10(s.ratio) for s in settings])
    weights = [w for s in settings for w in s.style_layers.values()]
    on = torch.tensor([math.log10(w) for w in weights if w > 0])
    assert math.log10(RATIO_RANGE[0]) <= ratios.min() and ratios.max() <= math.log10(RATIO_RANGE[1])
    assert abs(float(ratios.mean())) < 0.3 and float(ratios.std()) == pytest.approx(6 / 12**0.5, rel=0.1)
    assert math.log10(LAYER_WEIGHT_RANGE[0]) <= on.min() and on.max() <= math.log10(LAYER_WEIGHT_RANGE[1])
    assert 0.10 < 1 - len(on) / len(weights) < 0.20  # off with probability 0.15
    assert all(any(s.style_layers.values()) for s in settings)


def test_the_same_seed_draws_the_same_settings():
    first = [sample_setting(torch.Generator().manual_seed(3)) for _ in range(2)]
    assert first[0] == first[1]


def test_random_crops_are_square_and_inside_the_image():
    image = torch.rand(1, 3, 50, 80, generator=torch.Generator().manual_seed(0))
    crop = random_crop(image, 32, torch.Generator().manual_seed(1))
    assert crop.shape == (1, 3, 32, 32) and 0 <= crop.min() and crop.max() <= 1


def test_the_training_objective_is_stylize_s(data_dir):
    content = helpers.load_image(data_dir / "chelsea.png", max_size=64)
    style = helpers.load_image(data_dir / "starry_night.jpg", max_size=64)
    setting = Setting(0.5, {"relu1_1": 2.0, "relu3_1": 0.0, "relu5_1": 1.0})
    objective = setting_objective(helpers.cached_vgg19(), content, style, setting)
    assert objective.weights == (0.5, 1.0, TV_WEIGHT)
    factors = objective.style_factors
    assert factors["relu3_1"] == 0 and factors["relu1_1"] / factors["relu5_1"] == pytest.approx(
        2 * objective.layer_scales["relu1_1"] / objective.layer_scales["relu5_1"]
    )
    assert list(objective.style_targets) == ["relu1_1", "relu3_1", "relu5_1"]
    assert set(STYLE_LAYERS) >= set(setting.style_layers)


def test_a_resumed_run_ends_with_the_numbers_of_an_unbroken_one(tmp_path):
    common = [
        "--steps",
        "4",
        "--batch",
        "1",
        "--size",
        "48",
        "--crops",
        "1",
        "--checkpoint-every",
        "2",
        "--no-ship",
        "--no-extra-photos",
    ]
    whole = train_adjustable.main(common + ["--work-dir", str(tmp_path / "whole")])
    train_adjustable.main(common[:1] + ["2"] + common[2:] + ["--work-dir", str(tmp_path / "broken")])
    resumed = train_adjustable.main(common + ["--resume", "--work-dir", str(tmp_path / "broken")])
    history = torch.load(tmp_path / "whole" / "embedding" / "state.pt", weights_only=False)["history"]
    again = torch.load(tmp_path / "broken" / "embedding" / "state.pt", weights_only=False)["history"]
    assert len(history) == 4 and again == history  # the first run in a process started from another model once
    assert resumed["held_out_relative"] == whole["held_out_relative"]
    assert json.loads((tmp_path / "whole" / "embedding" / "result.json").read_text())["steps"] == 4


def test_a_boosted_setting_differs_from_its_twin_in_one_layer_only():
    generator = torch.Generator().manual_seed(5)
    for _ in range(50):
        setting = sample_setting(generator)
        twin = boosted(setting, generator)
        changed = [n for n in setting.style_layers if setting.style_layers[n] != twin.style_layers[n]]
        assert twin.ratio == setting.ratio and len(changed) == 1
        name = changed[0]
        before, after = setting.style_layers[name], twin.style_layers[name]
        assert after == pytest.approx(100 * before) if before > 0 else after > 0
