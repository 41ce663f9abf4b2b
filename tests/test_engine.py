import pytest
import torch

import helpers
from helpers import engine, optim
from helpers.objective import StyleObjective
from helpers.options import StyleOptions

SMALL = {"relu1_1": 0.5, "relu2_1": 1.5}
FAST = {"content_layers": "relu2_2", "style_layers": SMALL, "size": 48, "progress": False}


@pytest.fixture(scope="module")
def content(data_dir):
    return helpers.load_image(data_dir / "chelsea.png", max_size=64)  # (1, 3, 43, 64)


@pytest.fixture(scope="module")
def style(data_dir):
    return helpers.load_image(data_dir / "starry_night.jpg", max_size=64)  # (1, 3, 40, 64)


@pytest.fixture
def run(content, style):
    """``stylize`` on the default path: the shared channels-last extractor, balanced units."""

    def go(style_image=None, **options):
        style_image = style if style_image is None else style_image
        return helpers.stylize(content, style_image, **{**FAST, "steps": 6, **options})

    return go


def test_stylize_lowers_the_loss_and_keeps_the_image_contract(run):
    result = run(steps=8)
    totals = [record["total"] for record in result.history]
    assert [record["step"] for record in result.history] == list(range(1, len(totals) + 1)) and len(totals) >= 8
    assert totals[-1] < 0.8 * totals[0]
    assert result.image.shape == (1, 3, 32, 48) and result.image.dtype == torch.float32
    assert torch.isfinite(result.image).all() and 0 <= result.image.min() and result.image.max() <= 1
    assert set(result.history[0]) >= {"step", "seconds", "content", "style", "tv", "total", "style_layers"}
    assert list(result.history[0]["style_layers"]) == list(SMALL)
    assert result.stopped == "steps" and result.options.steps == 8


def test_balanced_record_is_the_weighted_mean_of_its_layers(run):
    record = run(steps=3, content_weight=2.0, style_weight=3.0, tv_weight=0.5).history[-1]
    layers = record["style_layers"]
    assert record["style"] == pytest.approx((0.5 * layers["relu1_1"] + 1.5 * layers["relu2_1"]) / 2.0, rel=1e-5)
    expected = 2.0 * record["content"] + 3.0 * record["style"] + 0.5 * record["tv"]
    assert record["total"] == pytest.approx(expected, rel=1e-5)
    assert record["tv"] == pytest.approx(1.0, rel=0.5)  # the photo's own roughness is 1, and it starts there


def test_balanced_terms_start_near_one_for_a_black_start_and_raw_units_do_not(run):
    black = torch.zeros(1, 3, 32, 48)
    balanced = run(init=black, steps=1).history[0]
    raw = run(init=black, steps=1, units="raw").history[0]
    assert all(0.2 < value < 5 for value in balanced["style_layers"].values())
    assert 0.2 < balanced["content"] < 5
    spread = max(raw["style_layers"].values()) / min(raw["style_layers"].values())
    assert spread > 100  # raw Gram distances of different layers differ by orders of magnitude


def test_balanced_units_do_not_depend_on_the_scale_of_the_features(content, style, caffe_vgg):
    options = StyleOptions(content_layers={"relu2_2": 1.0}, style_layers=SMALL)
    image = torch.rand(1, 3, 43, 64, generator=torch.Generator().manual_seed(2))

    class Scaled(torch.nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def forward(self, x, layers):
            return {name: value * self.factor for name, value in caffe_vgg(x, layers).items()}

    with torch.no_grad():
        one = StyleObjective(Scaled(1.0), content, [style], options)(image)
        many = StyleObjective(Scaled(37.0), content, [style], options)(image)
        raw = StyleObjective(Scaled(37.0), content, [style], options.updated(units="raw"))(image)
    torch.testing.assert_close(one[0], many[0], rtol=1e-4, atol=0)
    assert float(raw[0]) > 1000 * float(one[0])


def test_result_image_has_the_lowest_recorded_loss(run, content, style):
    result = run(steps=6, content_weight=2.0, style_weight=0.5, tv_weight=0.1)
    objective = StyleObjective(
        helpers.cached_vgg19(), helpers.resize_image(content, 48), [helpers.resize_image(style, 48)], result.options
    )
    with torch.no_grad():
        total, _ = objective(result.image)
    assert float(total) == pytest.approx(min(r["total"] for r in result.history), rel=1e-4)


def test_the_default_channels_last_path_matches_the_contiguous_extractor(run, caffe_vgg):
    assert helpers.uses_channels_last(helpers.cached_vgg19()) and not helpers.uses_channels_last(caffe_vgg)
    default, contiguous = run(steps=8), run(steps=8, extractor=caffe_vgg)
    assert len(default.history) == len(contiguous.history)
    for ours, theirs in zip(default.history, contiguous.history):
        assert ours["total"] == pytest.approx(theirs["total"], rel=2e-3)
        assert ours["style_layers"] == pytest.approx(theirs["style_layers"], rel=5e-3)
    assert (default.image - contiguous.image).abs().max() < 0.02


def test_same_seed_gives_a_bit_identical_image(run):
    first, second, other = run(init="noise", seed=3), run(init="noise", seed=3), run(init="noise", seed=4)
    assert torch.equal(first.image, second.image)
    assert [r["total"] for r in first.history] == [r["total"] for r in second.history]
    assert not torch.equal(first.image, other.image)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_callback_false_stops_and_returns_the_best_image(run, optimizer):
    seen = {}

    def callback(step, image, record):
        seen[step] = (record["total"], image.clone())
        return step < 4

    result = run(steps=20, callback=callback, callback_every=1, optimizer=optimizer, lr=0.05)
    assert result.stopped == "callback"
    assert len(result.history) == 4 if optimizer == "adam" else 4 <= len(result.history) <= 6
    best = min(seen.values(), key=lambda pair: pair[0])[1]
    assert torch.equal(result.image, best)


def test_keyboard_interrupt_returns_the_best_so_far_with_its_history(run):
    def callback(step, image, record):
        if step == 5:
            raise KeyboardInterrupt

    result = run(steps=20, callback=callback, callback_every=1)
    assert result.stopped == "interrupted" and len(result.history) == 5
    assert torch.isfinite(result.image).all() and result.image.shape == (1, 3, 32, 48)


def test_callback_every_and_seconds_exclude_the_callback(run, monkeypatch):
    clock = [0.0]

    def tick():
        clock[0] += 1.0
        return clock[0]

    monkeypatch.setattr(optim.time, "perf_counter", tick)
    calls = []

    def callback(step, image, record):
        calls.append(step)
        clock[0] += 1000.0

    result = run(steps=6, callback=callback, callback_every=2, optimizer="adam")
    assert calls == [2, 4, 6]
    assert result.history[-1]["seconds"] < 100  # three callbacks of 1000 s each are not counted


def test_non_finite_loss_raises_naming_the_step(run, monkeypatch):
    original, calls = StyleObjective.__call__, []

    def poisoned(self, image):
        total, parts = original(self, image)
        calls.append(1)
        return (total * float("nan") if len(calls) == 3 else total), parts

    monkeypatch.setattr(StyleObjective, "__call__", poisoned)
    with pytest.raises(helpers.NonFiniteLossError, match=r"nan at step 3 .*Likely cause"):
        run(steps=10)


def test_too_small_image_raises_before_any_work(monkeypatch):
    calls = []
    monkeypatch.setattr(StyleObjective, "__init__", lambda *args, **kwargs: calls.append(1))
    tiny, fine = torch.rand(1, 3, 12, 12), torch.rand(1, 3, 64, 64)
    with pytest.raises(helpers.ImageTooSmallError, match=r"content image at size=12 is 12x12.*relu5_1.*16x16"):
        helpers.stylize(tiny, fine, size=12, progress=False)
    with pytest.raises(helpers.ImageTooSmallError, match=r"style image at size=64, style_scale=0.15 is 10x10.*relu5_1"):
        helpers.stylize(fine, torch.rand(1, 3, 40, 40), size=64, style_scale=0.15, progress=False)
    assert calls == []


def test_content_and_style_may_differ_in_size_and_aspect():
    content, style = torch.rand(1, 3, 60, 40), torch.rand(1, 3, 30, 90)
    result = helpers.stylize(content, style, **{**FAST, "steps": 3})
    assert result.image.shape == (1, 3, 48, 32) and len(result.history) >= 3


def test_images_without_a_batch_in_uint8_or_float64_work_like_the_contract(run, content, style):
    reference = run(steps=3)
    as_bytes = (content[0] * 255).round().to(torch.uint8)
    odd = helpers.stylize(as_bytes, style.double(), **{**FAST, "steps": 3})
    assert odd.image.shape == reference.image.shape and odd.image.dtype == torch.float32
    assert odd.history[0]["total"] == pytest.approx(reference.history[0]["total"], rel=0.02)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"content_image": torch.rand(2, 3, 40, 40)}, r"content_image must be one image of shape \(1, 3, H, W\)"),
        (
            {"content_image": torch.rand(1, 3, 40, 40) * 255},
            r"content_image has values in \[.*\]; images are in \[0, 1\]",
        ),
        ({"content_image": torch.full((1, 3, 40, 40), float("nan"))}, "content_image contains NaN"),
        ({"style_image": torch.rand(1, 4, 40, 40)}, "style_image must be one image"),
        ({"style_image": []}, "style_image is empty"),
        ({"style_layers": []}, "style_layers is empty"),
        ({"content_layers": {}}, "content_layers is empty"),
        ({"style_layers": {"relu1_1": -1.0}}, "non-negative"),
        ({"lr": -0.1}, "lr must be"),
        ({"style_weight": float("nan")}, "style_weight must be"),
        ({"style_layers": ["relu9_9"]}, "unknown VGG19 layer"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"init": "paint"}, "init"),
        ({"precision": "fp16"}, "precision"),
        ({"steps": 0}, "at least 1"),
        ({"style_blend_weights": [1.0, 2.0]}, "style_blend_weights"),
    ],
)
def test_bad_input_is_refused_with_the_argument_named(content, style, change, message):
    arguments = {"content_image": content, "style_image": style, **FAST, **change}
    with pytest.raises(ValueError, match=message):
        helpers.stylize(arguments.pop("content_image"), arguments.pop("style_image"), **arguments)


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


def test_pyramid_starts_small_and_ends_at_full_size(run):
    result = run(steps=8, pyramid=2)
    sizes = [record["size"] for record in result.history]
    assert sizes[0] == (16, 24) and sizes[-1] == (32, 48)
    assert result.image.shape == (1, 3, 32, 48)


def test_reconstruct_content_from_noise_lowers_the_feature_distance(content):
    result = helpers.reconstruct(content, content_layer="relu2_2", steps=10, size=48, progress=False)
    contents = [record["content"] for record in result.history]
    assert contents[-1] < 0.3 * contents[0] and result.history[-1]["style"] == 0
    assert 0.3 < contents[0] < 3  # balanced units: noise is about as far from the photo as a blank image


def test_reconstruct_style_matches_gram_matrices(style):
    result = helpers.reconstruct(style, style_layers=["relu1_1", "relu2_1"], steps=10, size=48, progress=False)
    styles = [record["style"] for record in result.history]
    assert styles[-1] < 0.3 * styles[0] and result.history[-1]["content"] == 0
    assert result.image.shape == (1, 3, 30, 48)


def test_reconstruct_refuses_what_it_cannot_do(style):
    with pytest.raises(ValueError, match="init='content' needs a content image"):
        helpers.reconstruct(style, style_layers=["relu1_1"], init="content", steps=2, size=48, progress=False)
    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['stepz'\]"):
        helpers.reconstruct(style, style_layers=["relu1_1"], stepz=2)
    with pytest.raises(ValueError, match="style_layers is empty"):
        helpers.reconstruct(style, style_layers=[])


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


def test_live_preview_shows_then_updates_one_image(run, monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def __init__(self, item):
            self.items = [item]

        def update(self, item):
            self.items.append(item)

    monkeypatch.setattr(IPython.display, "display", lambda item, display_id: shown.append(Handle(item)) or shown[-1])
    run(steps=4, callback=helpers.live_preview(), callback_every=2, optimizer="adam")
    assert len(shown) == 2 and len(shown[0].items) == 2
    assert shown[0].items[-1].size == (48, 32) and shown[1].items[-1].data.startswith("step 4: total loss")


def test_bf16_autocast_keeps_grams_and_losses_in_float32(run, content, style):
    objective = StyleObjective(
        helpers.cached_vgg19(),
        helpers.resize_image(content, 48),
        [helpers.resize_image(style, 48)],
        StyleOptions(**{**FAST, "progress": True}),
        autocast_dtype=torch.bfloat16,
    )
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


def test_pooling_and_weights_build_and_share_their_own_extractor(run):
    result = run(steps=2, pooling="avg", weights="caffe-normalized")
    cached = helpers.cached_vgg19("caffe-normalized", "avg")
    assert cached.pooling == "avg" and isinstance(cached.layers[4], torch.nn.AvgPool2d)
    assert cached is helpers.cached_vgg19("caffe-normalized", "avg", torch.device("cpu"))
    assert result.image.shape == (1, 3, 32, 48)


def test_smaller_size_halves_the_pixels_in_steps_of_16():
    assert [engine.smaller_size(s) for s in (512, 256, 48, 16)] == [352, 176, 32, 16]


def test_init_fast_starts_from_the_real_time_networks_picture(run, content, style):
    fast = run(init="fast", steps=1).history[0]
    photo = run(init="content", steps=1).history[0]
    assert fast["style"] < photo["style"] and fast["content"] > 0  # already stylised, no longer the photo
    with pytest.raises(ValueError, match="init='fast' needs a content and a style image"):
        helpers.reconstruct(style, style_layers=["relu1_1"], init="fast", steps=1, size=48, progress=False)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_stylize_on_the_gpu_lowers_the_loss_in_auto_precision(content, style):
    result = helpers.stylize(content.cuda(), style.cuda(), **{**FAST, "steps": 6})
    assert result.image.device.type == "cuda" and result.image.dtype == torch.float32
    assert result.history[-1]["total"] < result.history[0]["total"] and torch.isfinite(result.image).all()
