import threading
from types import SimpleNamespace

import pytest
import torch

from helpers.images import resize_image
from helpers.pyramid import resize_to
from helpers.ui.run import StepTimer, format_seconds, handover, run_stages
from helpers.ui.settings import Settings, settings_to_options
from helpers.ui.sizes import plan_stages


class FakeEngine:
    """Returns its start image plus step/steps per call and a loss of 1/step; sets ``stop`` at ``stop_at`` if given."""

    def __init__(self, stop=None, stop_at=None):
        self.calls, self.stop, self.stop_at = [], stop, stop_at

    def __call__(self, content_image, style_image, *, callback, callback_every, **options):
        self.calls.append(dict(options, callback_every=callback_every))
        h, w = resize_image(content_image, options["size"], upscale=True).shape[-2:]
        start = options["init"] if torch.is_tensor(options["init"]) else torch.zeros(1, 3, h, w)
        history, image = [], None
        for step in range(1, options["steps"] + 1):
            image = (start + step / options["steps"] / 10).clamp(0, 1)
            history.append({"step": step, "total": 1.0 / step})
            if self.stop is not None and step == self.stop_at:
                self.stop.set()
            if step % callback_every == 0 and callback(step, image, history[-1]) is False:
                break
        return SimpleNamespace(image=image, history=history)


IMAGES = torch.rand(1, 3, 24, 32, generator=torch.Generator().manual_seed(0)), torch.ones(1, 3, 16, 16)
SHAPES = {"content": IMAGES[0].shape, "style": IMAGES[1].shape}


def _stages(**settings):
    return plan_stages(settings_to_options(Settings(**settings)), SHAPES, preview_size=128, preview_steps=10)


def test_two_stages_when_the_result_is_larger_than_the_preview():
    engine, steps, stages = FakeEngine(), [], []
    outcome = run_stages(
        engine,
        *IMAGES,
        _stages(size=256, steps=50),
        stop=threading.Event(),
        on_step=lambda step, image, record, stage: steps.append((step, stage)),
        on_stage=lambda stage, image, history: stages.append((stage, image.shape[-1], len(history))),
    )
    assert [(c["size"], c["steps"]) for c in engine.calls] == [(128, 10), (256, 50)]
    assert stages == [("quick preview", 128, 10), ("full size", 256, 50)]
    assert steps[0] == (1, "quick preview") and steps[-1] == (60, "full size")
    assert outcome.image.shape[-1] == 256 and len(outcome.history) == 50
    assert not outcome.stopped and 0 <= outcome.first_preview <= outcome.seconds


def test_the_full_size_stage_starts_from_the_quick_result():
    engine, starts = FakeEngine(), []
    run_stages(
        engine,
        *IMAGES,
        _stages(size=256, steps=20),
        stop=threading.Event(),
        on_step=lambda step, image, record, stage: starts.append(image) if step in (10, 11) else None,
    )
    quick_end, full_start = starts
    assert engine.calls[0]["init"] == "content"
    torch.testing.assert_close(engine.calls[1]["init"], handover(quick_end, IMAGES[0], 256, 128, "content"))
    assert (full_start - engine.calls[1]["init"]).abs().max() <= 0.1 / 20 + 1e-6
    quick_change = float((quick_end - resize_image(IMAGES[0], 128, upscale=True)).abs().mean())
    full_change = float((engine.calls[1]["init"] - resize_image(IMAGES[0], 256, upscale=True)).abs().mean())
    assert quick_change > 0.1 and full_change == pytest.approx(quick_change, rel=0.1)


def test_the_handover_keeps_the_photos_detail_for_a_content_start():
    photo = IMAGES[0]
    small = resize_image(photo, 16)
    assert handover(small, photo, 32, 16, "content").sub(photo).abs().max() < 1e-6
    shifted = handover((small + 0.1).clamp(0, 1), photo, 32, 16, "content")
    assert shifted.shape == photo.shape and 0.05 < (shifted - photo).mean() <= 0.1 + 1e-6
    noise = handover(small, photo, 32, 16, "noise")
    torch.testing.assert_close(noise, resize_to(small, photo.shape).clamp(0, 1))


def test_one_stage_when_the_result_is_small():
    engine = FakeEngine()
    outcome = run_stages(engine, *IMAGES, _stages(size=96, steps=5), stop=threading.Event(), on_step=lambda *a: None)
    assert [c["size"] for c in engine.calls] == [96] and outcome.first_preview is None
    assert engine.calls[0]["init"] == "content"


def test_options_and_extras_reach_the_engine_unchanged():
    engine = FakeEngine()
    options = settings_to_options(Settings(size=64, steps=100))
    run_stages(
        engine,
        *IMAGES,
        [("full size", options)],
        stop=threading.Event(),
        on_step=lambda *a: None,
        extras={"progress": False},
    )
    assert engine.calls == [{**options, "progress": False, "callback_every": 1}]


@pytest.mark.parametrize(("stop_at", "calls"), [(3, 1), (8, 2)])
def test_stop_ends_the_current_stage_and_skips_the_next(stop_at, calls):
    stop = threading.Event()
    engine = FakeEngine(stop=stop, stop_at=stop_at)
    stages = plan_stages(settings_to_options(Settings(size=256, steps=20)), SHAPES, preview_size=128, preview_steps=5)
    outcome = run_stages(engine, *IMAGES, stages, stop=stop, on_step=lambda *a: None)
    assert len(engine.calls) == calls and outcome.stopped
    assert len(outcome.history) == stop_at


def test_the_step_timer_measures_the_pace_after_the_first_step():
    timer = StepTimer()
    assert timer.per_step("quick preview") is None
    timer.mark("quick preview", 1, pixels=100, now=10.0)  # the first step includes the targets: the zero
    assert timer.per_step("quick preview") is None
    for step, now in ((2, 12.0), (5, 18.0)):
        timer.mark("quick preview", step, pixels=100, now=now)
    assert timer.per_step("quick preview") == pytest.approx(2.0)
    assert timer.per_pixel_step("quick preview") == pytest.approx(0.02)
    assert timer.left("quick preview", steps=8) == pytest.approx(6.0)
    timer.mark("full size", 9, pixels=400, now=30.0)
    timer.mark("full size", 11, pixels=400, now=46.0)
    assert timer.per_step("full size") == pytest.approx(8.0) and timer.left("full size", steps=20) == pytest.approx(72)


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0 s"), (8.4, "8 s"), (200, "3 min 20 s"), (3900, "1 h 5 min")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
