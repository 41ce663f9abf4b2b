import time

import pytest
import torch

import helpers
from helpers import engine
from helpers.objective import StyleObjective

SMALL = {"relu1_1": 0.5, "relu2_1": 0.5}
FAST = {"content_layers": "relu2_2", "style_layers": SMALL, "size": 48, "progress": False}


@pytest.fixture(scope="module")
def content(data_dir):
    return helpers.load_image(data_dir / "chelsea.png", max_size=64)  # (1, 3, 43, 64)


@pytest.fixture(scope="module")
def style(data_dir):
    return helpers.load_image(data_dir / "starry_night.jpg", max_size=64)  # (1, 3, 40, 64)


@pytest.fixture
def run(content, style, caffe_vgg):
    def go(style_image=None, **options):
        style_image = style if style_image is None else style_image
        return helpers.stylize(content, style_image, **{**FAST, "steps": 6, "extractor": caffe_vgg, **options})

    return go


def test_stylize_lowers_the_loss_and_keeps_the_image_contract(run, content):
    result = run(steps=8)
    totals = [record["total"] for record in result.history]
    assert [record["step"] for record in result.history] == list(range(1, 9))
    assert totals[-1] < 0.8 * totals[0]
    assert result.image.shape == (1, 3, 32, 48) and result.image.dtype == torch.float32
    assert torch.isfinite(result.image).all() and 0 <= result.image.min() and result.image.max() <= 1
    assert set(result.history[0]) >= {"step", "seconds", "content", "style", "tv", "total", "style_layers"}
    assert list(result.history[0]["style_layers"]) == list(SMALL)
    assert result.stopped == "steps"


def test_record_total_is_the_weighted_sum_of_its_parts(run):
    record = run(steps=3, content_weight=2.0, style_weight=3.0, tv_weight=50.0).history[-1]
    style = sum(SMALL[name] * value for name, value in record["style_layers"].items())
    assert record["style"] == pytest.approx(style, rel=1e-5)
    expected = 2.0 * record["content"] + 3.0 * record["style"] + 50.0 * record["tv"]
    assert record["total"] == pytest.approx(expected, rel=1e-5) and record["tv"] > 0


def test_result_image_has_the_lowest_recorded_loss(run, caffe_vgg, content, style):
    result = run(steps=6, content_weight=2.0, style_weight=1e-3, tv_weight=1e5)
    objective = StyleObjective(caffe_vgg, helpers.resize_image(content, 48), [helpers.resize_image(style, 48)], [1.0],
                               {"relu2_2": 1.0}, SMALL, 2.0, 1e-3, 1e5)
    with torch.no_grad():
        total, _ = objective(result.image)
    assert float(total) == pytest.approx(min(r["total"] for r in result.history), rel=1e-4)


def test_same_seed_gives_a_bit_identical_image(run):
    first, second, other = run(init="noise", seed=3), run(init="noise", seed=3), run(init="noise", seed=4)
    assert torch.equal(first.image, second.image)
    assert [r["total"] for r in first.history] == [r["total"] for r in second.history]
    assert not torch.equal(first.image, other.image)


def test_callback_false_stops_and_returns_the_best_image(run):
    seen = {}

    def callback(step, image, record):
        seen[step] = (record["total"], image.clone())
        return step < 4

    result = run(steps=20, callback=callback, callback_every=1)
    assert len(result.history) == 4 and result.stopped == "callback"
    best = min(seen.values(), key=lambda pair: pair[0])[1]
    assert torch.equal(result.image, best)


def test_keyboard_interrupt_returns_the_best_so_far_with_its_history(run):
    def callback(step, image, record):
        if step == 5:
            raise KeyboardInterrupt

    result = run(steps=20, callback=callback, callback_every=1)
    assert result.stopped == "interrupted" and len(result.history) == 5
    assert torch.isfinite(result.image).all() and result.image.shape == (1, 3, 32, 48)


def test_callback_every_and_seconds_exclude_the_callback(run):
    calls = []

    def callback(step, image, record):
        calls.append(step)
        time.sleep(0.3)

    began = time.perf_counter()
    result = run(steps=6, callback=callback, callback_every=2)
    wall = time.perf_counter() - began
    assert calls == [2, 4, 6]
    assert result.history[-1]["seconds"] <= wall - 0.9 * 0.3 * len(calls)


def test_non_finite_loss_raises_naming_the_step(run, monkeypatch):
    original, calls = StyleObjective.__call__, []

    def poisoned(self, image):
        total, parts = original(self, image)
        calls.append(1)
        return (total * float("nan") if len(calls) == 3 else total), parts

    monkeypatch.setattr(StyleObjective, "__call__", poisoned)
    with pytest.raises(helpers.NonFiniteLossError, match=r"nan at step 3 .*Likely cause"):
        run(steps=10)


def test_too_small_image_raises_before_any_work(caffe_vgg, monkeypatch):
    calls = []
    monkeypatch.setattr(StyleObjective, "__init__", lambda *args, **kwargs: calls.append(1))
    tiny, fine = torch.rand(1, 3, 12, 12), torch.rand(1, 3, 64, 64)
    with pytest.raises(helpers.ImageTooSmallError, match=r"content image is 12x12.*relu5_1.*16x16"):
        helpers.stylize(tiny, fine, size=12, extractor=caffe_vgg, progress=False)
    with pytest.raises(helpers.ImageTooSmallError, match=r"style image is 10x10.*relu5_1"):
        helpers.stylize(fine, torch.rand(1, 3, 40, 40), size=64, style_scale=0.15, extractor=caffe_vgg, progress=False)
    assert calls == []


def test_content_and_style_may_differ_in_size_and_aspect(caffe_vgg):
    content, style = torch.rand(1, 3, 60, 40), torch.rand(1, 3, 30, 90)
    result = helpers.stylize(content, style, **{**FAST, "steps": 3}, extractor=caffe_vgg)
    assert result.image.shape == (1, 3, 48, 32) and len(result.history) == 3


def test_adam_also_lowers_the_loss(run):
    result = run(optimizer="adam", steps=8, lr=0.05)
    assert len(result.history) == 8 and result.history[-1]["total"] < result.history[0]["total"]


def test_style_blend_weights_mix_the_gram_targets(run, style):
    other = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    single = run()
    only_first = run(style_image=[style, other], style_blend_weights=[2.0, 0.0])
    mixed = run(style_image=[style, other], style_blend_weights=[1.0, 1.0])
    assert torch.equal(single.image, only_first.image)
    assert not torch.equal(single.image, mixed.image)
    with pytest.raises(ValueError, match="blend weight"):
        run(style_image=[style, other], style_blend_weights=[1.0])


def test_pyramid_starts_small_and_ends_at_full_size(run):
    result = run(steps=8, pyramid=2)
    sizes = [record["size"] for record in result.history]
    assert sizes[0] == (16, 24) and sizes[-1] == (32, 48)
    assert result.image.shape == (1, 3, 32, 48)


def test_reconstruct_content_from_noise_lowers_the_feature_distance(content, caffe_vgg):
    result = helpers.reconstruct(content, content_layer="relu2_2", steps=10, size=48, extractor=caffe_vgg,
                                 progress=False)
    contents = [record["content"] for record in result.history]
    assert contents[-1] < 0.3 * contents[0] and result.history[-1]["style"] == 0


def test_reconstruct_style_matches_gram_matrices(style, caffe_vgg):
    result = helpers.reconstruct(style, style_layers=["relu1_1", "relu2_1"], steps=10, size=48, extractor=caffe_vgg,
                                 progress=False)
    styles = [record["style"] for record in result.history]
    assert styles[-1] < 0.3 * styles[0] and result.history[-1]["content"] == 0
    assert result.image.shape == (1, 3, 30, 48)


def test_reconstruct_refuses_a_start_from_an_image_it_does_not_have(style, caffe_vgg):
    with pytest.raises(ValueError, match="init='content' needs a content image"):
        helpers.reconstruct(style, style_layers=["relu1_1"], init="content", steps=2, size=48, extractor=caffe_vgg,
                            progress=False)


def test_out_of_memory_names_the_size_and_suggests_a_smaller_one(run, monkeypatch):
    def boom(self, image):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(StyleObjective, "__call__", boom)
    with pytest.raises(helpers.DeviceMemoryError, match=r"32x48 px \(size=48\); try size=32"):
        run()


def test_inputs_are_not_modified(run, content, style):
    before = (content.clone(), style.clone())
    run(steps=2)
    assert torch.equal(content, before[0]) and torch.equal(style, before[1])


@pytest.mark.parametrize(
    "options, message",
    [({"style_layers": ["relu9_9"]}, "unknown layer"), ({"optimizer": "sgd"}, "optimizer"),
     ({"init": "paint"}, "init"), ({"precision": "fp16"}, "precision"), ({"steps": 0}, "at least 1")],
)
def test_bad_options_are_refused(run, options, message):
    with pytest.raises(ValueError, match=message):
        run(**options)


def test_live_preview_shows_then_updates_one_image(run, monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def __init__(self, item):
            self.items = [item]

        def update(self, item):
            self.items.append(item)

    monkeypatch.setattr(IPython.display, "display", lambda item, display_id: shown.append(Handle(item)) or shown[-1])
    run(steps=4, callback=helpers.live_preview(), callback_every=2)
    assert len(shown) == 2 and len(shown[0].items) == 2
    assert shown[0].items[-1].size == (48, 32) and shown[1].items[-1].data.startswith("step 4: total loss")


def test_bf16_autocast_keeps_grams_and_losses_in_float32(run, caffe_vgg, content, style):
    objective = StyleObjective(caffe_vgg, helpers.resize_image(content, 48), [helpers.resize_image(style, 48)], [1.0],
                               {"relu2_2": 1.0}, SMALL, 1.0, 1e-3, 0.0, autocast_dtype=torch.bfloat16)
    assert all(gram.dtype == torch.float32 for gram in objective.style_targets.values())
    with torch.no_grad():
        total, parts = objective(helpers.resize_image(content, 48))
    assert total.dtype == parts["style_layers"].dtype == torch.float32
    fp32, bf16 = run(steps=6, precision="fp32"), run(steps=6, precision="bf16")
    assert bf16.history[-1]["total"] == pytest.approx(fp32.history[-1]["total"], rel=0.05)


def test_progress_bar_shows_steps_and_quiet_mode_prints_nothing(run, capsys):
    run(steps=3, progress=False)
    assert capsys.readouterr().err == ""
    run(steps=3, progress=True)
    assert "stylize" in capsys.readouterr().err


def test_init_accepts_an_image_of_any_size_and_style(run):
    start = torch.full((1, 3, 20, 30), 0.5)
    from_grey, from_style = run(init=start, steps=1), run(init="style", steps=1)
    assert from_grey.image.shape == from_style.image.shape == (1, 3, 32, 48)
    assert from_grey.history[0]["total"] != from_style.history[0]["total"]
    assert from_grey.history[0]["content"] > 0


def test_pooling_builds_and_caches_its_own_extractor(content, style):
    result = helpers.stylize(content, style, **{**FAST, "steps": 2}, pooling="avg")
    cached = engine.cached_extractor(None, "caffe", "avg", torch.device("cpu"))
    assert cached.pooling == "avg" and isinstance(cached.layers[4], torch.nn.AvgPool2d)
    assert cached is engine.cached_extractor(None, "caffe", "avg", torch.device("cpu"))
    assert result.image.shape == (1, 3, 32, 48)
