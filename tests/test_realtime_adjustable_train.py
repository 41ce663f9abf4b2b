import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

import helpers
from helpers.realtime.adjustable import (
    LAYER_WEIGHT_RANGE,
    RATIO_RANGE,
    STYLE_LAYERS,
    TV_WEIGHT,
    WeightConditioner,
)
from helpers.realtime.adjustable_eval import Pair, best_embedding, score
from helpers.realtime.adjustable_train import (
    NEAR_RANGE,
    TERMS,
    AdjustableModel,
    PaintingBank,
    Setting,
    batch_loss,
    boosted,
    content_targets,
    distill,
    fit_one_pair,
    layer_terms,
    norm_offsets,
    norm_sizes,
    random_crop,
    sample_setting,
    setting_objective,
    shared_offsets,
)

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


def test_near_balanced_settings_keep_every_layer_on_within_a_factor_of_ten():
    generator = torch.Generator().manual_seed(0)
    settings = [sample_setting(generator, near=0.5) for _ in range(400)]
    near = [s for s in settings if all(NEAR_RANGE[0] <= w <= NEAR_RANGE[1] for w in s.style_layers.values())]
    assert 0.42 < len(near) / len(settings) < 0.62  # half drawn near, plus the few wide draws that land inside
    spread = torch.tensor([math.log10(w) for s in near for w in s.style_layers.values()])
    assert float(spread.std()) == pytest.approx(2 / 12**0.5, rel=0.15)  # log-uniform over [-1, 1]
    ratios = torch.tensor([math.log10(s.ratio) for s in near])
    assert float(ratios.min()) < -2 and float(ratios.max()) > 2  # α/β still spans its whole range


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
        "2",
        "--paired",
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
    train_adjustable.main(common + ["--stop-after", "2", "--work-dir", str(tmp_path / "broken")])
    resumed = train_adjustable.main(common + ["--resume", "--work-dir", str(tmp_path / "broken")])
    history = torch.load(tmp_path / "whole" / "embedding" / "state.pt", weights_only=False)["history"]
    again = torch.load(tmp_path / "broken" / "embedding" / "state.pt", weights_only=False)["history"]
    assert len(history) == 4 and again == history  # the first run in a process started from another model once
    # the learning rate follows the cosine over all 4 steps in both runs (it would differ with --steps 2 first)
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


def test_the_batched_terms_give_the_objective_s_total_and_parts_for_every_image(data_dir):
    vgg = helpers.cached_vgg19()
    generator = torch.Generator().manual_seed(0)
    photo = helpers.load_image(data_dir / "chelsea.png", max_size=120)
    paintings = {
        "starry_night.jpg": helpers.load_image(data_dir / "starry_night.jpg", max_size=120),
        "great_wave.jpg": helpers.load_image(data_dir / "great_wave.jpg", max_size=120),
    }
    bank = PaintingBank(paintings, 48, 2, generator)
    contents = torch.cat([random_crop(photo, 48, generator) for _ in range(3)])
    crops = [0, 3, 1]
    targets = content_targets(vgg, contents, [bank.grams(vgg)[k] for k in crops])
    images = torch.rand(3, 3, 48, 48, generator=generator)
    terms = layer_terms(vgg, images, targets)
    settings = [Setting(0.3, {"relu1_1": 2.0, "relu2_1": 0.5, "relu3_1": 0.0, "relu4_1": 1.0, "relu5_1": 1.0})]
    settings += [sample_setting(generator) for _ in range(2)]
    for i, (k, setting) in enumerate(zip(crops, settings)):
        objective = setting_objective(vgg, contents[i : i + 1], bank.images[k], setting)
        total, parts = objective(images[i : i + 1])
        assert float((terms[i] * setting.term_weights()).sum()) == pytest.approx(float(total), rel=1e-5)
        assert float(terms[i, 0]) == pytest.approx(float(parts["content"]), rel=1e-5)
        assert float(terms[i, -1]) == pytest.approx(float(parts["tv"]), rel=1e-5)
        columns = [1 + STYLE_LAYERS.index(name) for name in objective.style_targets]
        torch.testing.assert_close(terms[i, columns], parts["style_layers"], rtol=1e-5, atol=0)
    assert TERMS == ("content", *STYLE_LAYERS, "tv")


def test_a_paired_batch_scores_fast_stylize_s_pictures_once_with_the_same_loss(data_dir):
    vgg = helpers.cached_vgg19()
    generator = torch.Generator().manual_seed(2)
    photo = helpers.load_image(data_dir / "chelsea.png", max_size=96)
    bank = PaintingBank(
        {"starry_night.jpg": helpers.load_image(data_dir / "starry_night.jpg", max_size=96)}, 48, 2, generator
    )
    contents = torch.cat([random_crop(photo, 48, generator) for _ in range(2)])
    targets = content_targets(vgg, contents, [bank.grams(vgg)[k] for k in (0, 1)])
    embeddings = torch.cat(bank.embeddings)
    settings = [sample_setting(generator) for _ in range(2)]
    settings += [boosted(s, generator) for s in settings]
    model = AdjustableModel(WeightConditioner())
    both = (torch.cat([contents] * 2), targets.repeat(2), torch.cat([embeddings] * 2), settings)
    with torch.no_grad():
        once, records = batch_loss(model, vgg, *both[:1], both[1], both[2], both[3], repeats=2)
        plain, _ = batch_loss(model, vgg, *both[:1], both[1], both[2], both[3])
    assert float(once) == pytest.approx(float(plain), rel=1e-5)
    assert [r["relative"] for r in records] == pytest.approx([1.0] * 4, rel=1e-5)  # untrained: fast_stylize itself


def test_the_one_pair_fit_records_every_layer_and_leaves_a_frozen_direct_path_at_zero(data_dir):
    content = helpers.load_image(data_dir / "grace_hopper.jpg", max_size=48)
    style = helpers.load_image(data_dir / "the_scream.jpg", max_size=48)
    embedding = helpers.realtime.style_embedding(style)
    equal = {name: 1.0 for name in STYLE_LAYERS}
    settings = [Setting(0.1, equal | {"relu1_1": w}) for w in (0.1, 10.0)] + [Setting(0.1, {"relu1_1": 1.0})]
    torch.manual_seed(0)
    conditioner = WeightConditioner()
    conditioner.direct.requires_grad_(False)
    record = fit_one_pair(conditioner, helpers.cached_vgg19(), content, style, embedding, settings, steps=3, lr=1e-2)
    assert len(record) == 3 and all(len(step) == 15 for step in record)
    assert record[0][:5] == pytest.approx(record[0][5:10], rel=1e-6)  # untrained: one picture for every setting
    assert all(math.isnan(v) for v in record[0][11:15]) and not math.isnan(record[0][10])
    assert record[2][0] != record[0][0]  # the MLP moved
    assert float(conditioner.direct.weight.abs().sum()) == 0


def test_norm_offsets_move_gamma_and_beta_by_hand_and_leave_nothing_behind():
    torch.manual_seed(0)
    transformer = helpers.realtime.load_transformer()
    sizes = norm_sizes(transformer)
    assert sizes[-1] == 3 and len(sizes) == 13  # five residual blocks of two norms, then three expanding layers
    norm = [m for m in transformer.modules() if isinstance(m, helpers.realtime.layers.ConditionalInstanceNorm)][-1]
    x, embedding = torch.randn(2, 3, 5, 5), torch.randn(1, 100)
    gamma, beta = norm.gamma_beta(embedding)
    offsets = [torch.zeros(2 * c) for c in sizes]
    offsets[-1] = torch.tensor([0.5, -0.25, 0.0, 0.1, 0.2, -0.3])
    normalised = (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), unbiased=False, keepdim=True) + 1e-5)
    with torch.no_grad():
        with norm_offsets(transformer, offsets):
            added = norm(x, embedding)
        with norm_offsets(transformer, offsets, relative_gamma=True):
            scaled = norm(x, embedding)
        after = norm(x, embedding)
    shift = offsets[-1][3:, None, None]
    torch.testing.assert_close(
        added, normalised * (gamma + offsets[-1][:3, None, None]) + beta + shift, atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        scaled, normalised * gamma * (1 + offsets[-1][:3, None, None]) + beta + shift, atol=1e-5, rtol=0
    )
    torch.testing.assert_close(after, normalised * gamma + beta, atol=1e-5, rtol=0)  # hooks removed
    with pytest.raises(ValueError, match="13 conditional norms"):
        with norm_offsets(transformer, offsets[:-1]):
            pass
    with pytest.raises(ValueError, match="3 channels"):
        with norm_offsets(transformer, offsets[:-1] + [torch.zeros(5)]):
            pass
    assert not norm.to_gamma._forward_hooks and not norm.to_beta._forward_hooks


def test_the_best_embedding_scores_below_the_painting_s_own(data_dir):
    content = helpers.load_image(data_dir / "grace_hopper.jpg", max_size=64)
    style = helpers.load_image(data_dir / "the_scream.jpg", max_size=64)
    pair = Pair("grace_hopper + the_scream", content, style, helpers.realtime.style_embedding(style).clone())
    setting = Setting(0.1, {name: 1.0 for name in STYLE_LAYERS} | {"relu1_1": 100.0})
    best = best_embedding(pair, setting, steps=8)
    assert best.shape == (1, 100) and not best.requires_grad and not torch.equal(best, pair.embedding)
    own = score(pair, helpers.realtime.fast_stylize(content, embedding=pair.embedding), setting)
    moved = score(pair, helpers.realtime.fast_stylize(content, embedding=best), setting)
    assert moved["total"] < 0.9 * own["total"]
    assert moved["style_layers"]["relu1_1"] < own["style_layers"]["relu1_1"]  # the layer weighed 100 falls most


def test_twin_settings_share_their_pairs_and_their_offsets_beat_fast_stylize(data_dir):
    generator = torch.Generator().manual_seed(0)
    photos = [helpers.load_image(data_dir / "chelsea.png", max_size=64)]
    bank = PaintingBank({"s": helpers.load_image(data_dir / "starry_night.jpg", max_size=64)}, 48, 2, generator)
    setting = Setting(0.1, {name: 1.0 for name in STYLE_LAYERS})
    other = Setting(0.1, {name: 1.0 for name in STYLE_LAYERS} | {"relu1_1": 100.0})
    vgg = helpers.cached_vgg19()
    offsets, relative = shared_offsets(vgg, photos, bank, generator, [setting, other, setting, other], size=48, steps=6)
    assert offsets.shape == (4, 100) and relative.shape == (4,)
    torch.testing.assert_close(offsets[0], offsets[2])  # twins: the same pairs and weights give the same offset
    assert not torch.allclose(offsets[0], offsets[1], atol=1e-3)  # other weights, another offset
    assert float(relative.max()) < 1.0  # each offset paints its own pairs better than the painting's embedding


def test_distill_fits_the_conditioner_s_move_to_the_offsets():
    generator = torch.Generator().manual_seed(0)
    features = torch.rand(32, 6, generator=generator) * -1
    offsets = features @ torch.randn(6, 100, generator=generator)  # a move the direct path D can make exactly
    embeddings = torch.randn(8, 100, generator=generator)
    torch.manual_seed(0)
    conditioner = WeightConditioner(hidden=32)
    losses = distill(conditioner, features, offsets, embeddings, generator, steps=300, lr=1e-2)
    assert losses[-1] < 0.01 * losses[0]
    with torch.no_grad():
        move = conditioner(embeddings[:1], features) - embeddings[:1]
    assert float((move - offsets).pow(2).mean()) < 0.02 * float(offsets.pow(2).mean())


def test_an_interrupted_offsets_phase_resumes_to_the_same_conditioner(tmp_path):
    common = ["--steps", "0", "--size", "48", "--crops", "1", "--no-ship", "--no-extra-photos"]
    common += ["--distill-settings", "32", "--distill-pairs", "1", "--distill-steps", "2", "--distill-fit-steps", "5"]
    whole = train_adjustable.main(common + ["--work-dir", str(tmp_path / "whole")])
    with pytest.raises(SystemExit, match="stopped after 1 batches"):
        train_adjustable.main(common + ["--stop-after-batches", "1", "--work-dir", str(tmp_path / "broken")])
    resumed = train_adjustable.main(common + ["--resume", "--work-dir", str(tmp_path / "broken")])
    assert whole["distilled"]["settings"] == 32 and resumed["distilled"]["settings"] == 32
    assert resumed["distilled"]["fit_mse_first_last"] == whole["distilled"]["fit_mse_first_last"]
    assert resumed["held_out_relative"] == whole["held_out_relative"]
