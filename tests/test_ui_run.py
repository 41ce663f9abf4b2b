import threading
from types import SimpleNamespace

import pytest
import torch

from helpers.ui.run import run_stages
from helpers.ui.settings import Settings, settings_to_options


class FakeEngine:
    """Returns a constant image per call and a loss of 1/step; sets ``stop`` at ``stop_at`` if given."""

    def __init__(self, stop=None, stop_at=None):
        self.calls, self.stop, self.stop_at = [], stop, stop_at

    def __call__(self, content_image, style_image, *, callback, callback_every, **options):
        self.calls.append(dict(options, callback_every=callback_every))
        size = options["size"]
        history = []
        for step in range(1, options["steps"] + 1):
            image = torch.full((1, 3, size, size), step / options["steps"])
            history.append({"step": step, "total": 1.0 / step})
            if self.stop is not None and step == self.stop_at:
                self.stop.set()
            if step % callback_every == 0 and callback(step, image, history[-1]) is False:
                break
        return SimpleNamespace(image=image, history=history)


IMAGES = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)


def test_two_stages_when_the_result_is_larger_than_the_preview():
    engine, steps, stages = FakeEngine(), [], []
    options = settings_to_options(Settings(size=256, steps=50))
    outcome = run_stages(engine, *IMAGES, options, stop=threading.Event(), preview_size=128, preview_steps=10,
                         on_step=lambda step, image, record, stage: steps.append((step, stage)),
                         on_stage=lambda stage, image, history: stages.append((stage, image.shape[-1], len(history))))
    assert [(c["size"], c["steps"]) for c in engine.calls] == [(128, 10), (256, 50)]
    assert stages == [("quick preview", 128, 10), ("full size", 256, 50)]
    assert steps[0] == (1, "quick preview") and steps[-1] == (60, "full size")
    assert outcome.image.shape[-1] == 256 and len(outcome.history) == 50
    assert not outcome.stopped and 0 <= outcome.first_preview <= outcome.seconds


def test_one_stage_when_the_result_is_small():
    engine = FakeEngine()
    outcome = run_stages(engine, *IMAGES, settings_to_options(Settings(size=96, steps=5)), stop=threading.Event(),
                         on_step=lambda *args: None, preview_size=128)
    assert [c["size"] for c in engine.calls] == [96] and outcome.first_preview is None


def test_options_and_extras_reach_the_engine_unchanged():
    engine = FakeEngine()
    options = settings_to_options(Settings(size=64, steps=100))
    run_stages(engine, *IMAGES, options, stop=threading.Event(), on_step=lambda *args: None, extras={"progress": False})
    assert engine.calls == [{**options, "progress": False, "callback_every": 1}]


@pytest.mark.parametrize("stop_at, calls", [(3, 1), (8, 2)])
def test_stop_ends_the_current_stage_and_skips_the_next(stop_at, calls):
    stop = threading.Event()
    engine = FakeEngine(stop=stop, stop_at=stop_at)
    outcome = run_stages(engine, *IMAGES, settings_to_options(Settings(size=256, steps=20)), stop=stop,
                         on_step=lambda *args: None, preview_size=128, preview_steps=5)
    assert len(engine.calls) == calls and outcome.stopped
    assert len(outcome.history) == stop_at
