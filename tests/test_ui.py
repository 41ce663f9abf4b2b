import datetime
import io
import json
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.errors import ImageError, NonFiniteLossError
from helpers.images import load_image
from helpers.ui import Playground
from helpers.ui.settings import STYLE_LAYERS, Settings, settings_to_options

RUN_KEYS = {"callback", "callback_every", "progress"}


class FakeEngine:
    """Stands in for helpers.stylize: records each call, returns an image that depends on the options.

    With ``gate`` set, each step waits for the gate (so a test can press Stop in the middle of a run).
    """

    def __init__(self, gate=None, error=None):
        self.calls, self.gate, self.error = [], gate, error
        self.started = threading.Event()
        self.last_image = None

    def __call__(self, content_image, style_image, **kwargs):
        self.calls.append(kwargs)
        self.started.set()
        if self.error is not None:
            raise self.error
        size, level = kwargs["size"], sum(kwargs["style_layers"].values()) / 5
        h = max(1, round(size * content_image.shape[-2] / max(content_image.shape[-2:])))
        w = max(1, round(size * content_image.shape[-1] / max(content_image.shape[-2:])))
        history, image = [], None
        for step in range(1, kwargs["steps"] + 1):
            if self.gate is not None:
                self.gate.wait(5)
            image = torch.full((1, 3, h, w), level * step / kwargs["steps"])
            history.append({"step": step, "content": 1.0, "style": 2.0 / step, "tv": 0.0, "total": 1.0 + 2.0 / step,
                            "size": (h, w)})
            self.last_image = image
            if step % kwargs["callback_every"] == 0 and kwargs["callback"](step, image, history[-1]) is False:
                break
        return SimpleNamespace(image=image, history=history)

    def options(self, call=-1):
        return {k: v for k, v in self.calls[call].items() if k not in RUN_KEYS}


def _png(path, color, size=(40, 30)):
    Image.fromarray(np.full((size[1], size[0], 3), color, dtype=np.uint8)).save(path)


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "CREDITS.md").write_text("test images")
    _png(folder / "cat.png", (200, 120, 40))
    _png(folder / "wave.png", (20, 60, 200), size=(30, 30))
    (folder / "notes.txt").write_text("not offered in the pickers")
    return folder


def _playground(data, engine, **kwargs):
    settings = kwargs.pop("settings", Settings(content="cat.png", style="wave.png", size=64, steps=6))
    return Playground(data, engine=engine, settings=settings, cache_dir=data.parent / "cache",
                      save_dir=data.parent / "out", **kwargs)


def _upload(playground, name, data):
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    playground.upload.value = ({"name": name, "type": "image/png", "size": len(data), "last_modified": when,
                                "content": memoryview(data)},)


def _click_run(playground):
    playground.run_button.click()
    assert playground.wait(10), "the run did not finish"
    return playground.last_record


def test_pickers_offer_the_images_and_the_preview_starts_with_the_content(data):
    playground = _playground(data, FakeEngine())
    assert playground.content_picker.options == ("cat.png", "wave.png")
    assert playground.content_picker.value == "cat.png" and playground.style_picker.value == "wave.png"
    shown = Image.open(io.BytesIO(playground.preview.value))
    assert shown.getpixel((0, 0)) == (200, 120, 40)


def test_sliders_reach_the_engine_as_options(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    playground.layer_sliders["relu1_1"].value = 0.65
    playground.layer_sliders["relu3_1"].value = 0.0
    playground.ratio_slider.value = 1e5
    playground.tv_slider.value = 1e7
    playground.optimizer_buttons.value = "adam"
    playground.init_buttons.value = "noise"
    playground.steps_slider.value = 9
    playground.seed_box.value = 3
    _click_run(playground)
    expected = Settings(content="cat.png", style="wave.png", size=64, steps=9, ratio=1e5, tv_weight=1e7,
                        optimizer="adam", init="noise", seed=3,
                        layer_weights={"relu1_1": 0.65, "relu2_1": 0.2, "relu3_1": 0.0, "relu4_1": 0.2, "relu5_1": 0.2})
    assert engine.options() == settings_to_options(expected)
    assert "relu3_1" not in engine.calls[-1]["style_layers"]
    assert engine.calls[-1]["progress"] is False and engine.calls[-1]["style_weight"] == pytest.approx(1e-5)


def test_images_reach_the_engine_under_the_image_contract(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    seen = []
    playground.engine = lambda content, style, **kw: seen.append((content, style)) or engine(content, style, **kw)
    _click_run(playground)
    content, style = seen[0]
    assert content.shape == (1, 3, 30, 40) and style.shape == (1, 3, 30, 30)
    torch.testing.assert_close(content[0, :, 0, 0], torch.tensor([200, 120, 40]) / 255.0)


def test_a_large_result_runs_a_quick_stage_first(data):
    engine = FakeEngine()
    playground = _playground(data, engine, preview_size=32, preview_steps=2)
    record = _click_run(playground)
    assert [(c["size"], c["steps"]) for c in engine.calls] == [(32, 2), (64, 6)]
    assert record.first_preview is not None and record.first_preview <= record.seconds
    assert playground.progress.value == playground.progress.max == 8
    assert record.image.shape[-1] == 64 and len(record.history) == 6


def test_the_preview_and_loss_curves_show_the_result(data):
    playground = _playground(data, FakeEngine())
    before = playground.preview.value
    record = _click_run(playground)
    assert playground.preview.value != before
    shown = np.asarray(Image.open(io.BytesIO(playground.preview.value)))
    assert abs(int(shown[0, 0, 0]) - round(float(record.image[0, 0, 0, 0]) * 255)) <= 1
    assert playground.losses.value.count("<polyline") == 3
    assert "done" in playground.message


def test_stop_keeps_the_current_image(data):
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    playground = _playground(data, engine, settings=Settings(content="cat.png", style="wave.png", size=64, steps=500))
    playground.run_button.click()
    assert engine.started.wait(5) and playground.running
    assert playground.run_button.disabled and not playground.stop_button.disabled
    playground.stop_button.click()
    gate.set()
    assert playground.wait(10)
    record = playground.last_record
    assert record.stopped and len(record.history) < 500
    torch.testing.assert_close(record.image, engine.last_image)
    assert "stopped" in playground.message and not playground.run_button.disabled
    assert len(playground.cache) == 0
    _click_run(playground)
    assert len(engine.calls) == 2, "a stopped run is not cached"


def test_the_same_settings_come_back_from_the_cache(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    first = _click_run(playground)
    second = playground.run()
    assert len(engine.calls) == 1 and second.cached and not first.cached
    torch.testing.assert_close(second.image, first.image, atol=0.5 / 255 + 1e-6, rtol=0)
    assert second.history == first.history and "from the cache" in playground.message
    playground.layer_sliders["relu5_1"].value = 0.5
    _click_run(playground)
    assert len(engine.calls) == 2


def test_the_cache_survives_a_new_playground(data):
    engine = FakeEngine()
    _click_run(_playground(data, engine))
    assert _playground(data, engine).run().cached and len(engine.calls) == 1


def test_no_cache_when_disabled(data):
    engine = FakeEngine()
    playground = Playground(data, engine=engine, cache_dir=False,
                            settings=Settings(content="cat.png", style="wave.png", size=40, steps=2))
    _click_run(playground)
    _click_run(playground)
    assert len(engine.calls) == 2 and playground.cache is None


def test_an_unreadable_upload_shows_the_image_error(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    _upload(playground, "holiday.png", b"not an image")
    with pytest.raises(ImageError) as expected:
        load_image(b"not an image", name="holiday.png")
    assert playground.message == str(expected.value)
    assert "holiday.png" in playground.message and "Traceback" not in playground.status.value
    assert playground.content_picker.options == ("cat.png", "wave.png")
    assert playground.content_picker.value == "cat.png"


def test_a_good_upload_becomes_the_content(data, tmp_path):
    engine = FakeEngine()
    playground = _playground(data, engine)
    _png(tmp_path / "me.png", (0, 255, 0), size=(20, 24))
    _upload(playground, "me.png", (tmp_path / "me.png").read_bytes())
    assert playground.content_picker.value == "upload: me.png"
    assert "upload: me.png" in playground.style_picker.options and playground.style_picker.value == "wave.png"
    seen = []
    playground.engine = lambda content, style, **kw: seen.append(content) or engine(content, style, **kw)
    _click_run(playground)
    assert seen[0].shape == (1, 3, 24, 20)
    torch.testing.assert_close(seen[0][0, :, 0, 0], torch.tensor([0.0, 1.0, 0.0]))


def test_invalid_settings_are_shown_and_nothing_runs(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    for slider in playground.layer_sliders.values():
        slider.value = 0.0
    playground.run_button.click()
    assert not playground.running and engine.calls == []
    assert "at least one layer" in playground.message
    with pytest.raises(ValueError, match="at least one layer"):
        playground.run(wait=True)


def test_an_engine_error_is_shown_not_raised_by_the_button(data):
    engine = FakeEngine(error=NonFiniteLossError("the loss became NaN at step 3; lower the learning rate"))
    playground = _playground(data, engine)
    _click_run(playground)
    assert "the loss became NaN at step 3" in playground.message
    assert playground.last_record is None and not playground.run_button.disabled
    with pytest.raises(NonFiniteLossError):
        playground.run(wait=True)


def test_the_gallery_keeps_finished_results_side_by_side(data):
    engine = FakeEngine()
    playground = _playground(data, engine, gallery_size=2)
    first = _click_run(playground)
    playground.layer_sliders["relu1_1"].value = 1.0
    second = _click_run(playground)
    assert len(playground.gallery.children) == 2 and playground.records == [second, first]
    captions = [entry.children[1].value for entry in playground.gallery.children]
    assert "layers 1/0.2/0.2/0.2/0.2" in captions[0] and "layers 0.2/0.2/0.2/0.2/0.2" in captions[1]
    playground.layer_sliders["relu2_1"].value = 0.0
    _click_run(playground)
    assert len(playground.gallery.children) == 2
    playground.gallery.children[1].children[2].click()
    assert playground.settings == second.settings


def test_save_writes_a_png_with_the_settings(data):
    playground = _playground(data, FakeEngine())
    assert playground.save() is None and "nothing to save" in playground.message
    record = _click_run(playground)
    assert not playground.save_button.disabled
    playground.save_button.click()
    written = sorted((data.parent / "out").glob("*.png"))
    assert len(written) == 1 and str(written[0]) in playground.message
    saved = Image.open(written[0])
    assert saved.size == (64, 48)
    assert Settings.from_dict(json.loads(saved.text["nst:settings"])) == record.settings
    assert json.loads(saved.text["nst:options"])["style_layers"] == {name: 0.2 for name in STYLE_LAYERS}
    assert saved.text["nst:stopped"] == "False"


def test_set_settings_moves_every_widget(data):
    playground = _playground(data, FakeEngine())
    settings = Settings(content="wave.png", style="cat.png", ratio=1e-2, tv_weight=3e6, size=96, steps=12,
                        optimizer="adam", init="style", seed=5,
                        layer_weights={"relu1_1": 0.1, "relu2_1": 0.3, "relu3_1": 0.5, "relu4_1": 0.7, "relu5_1": 0.9})
    playground.set_settings(settings)
    assert playground.settings == settings


def test_a_second_run_waits_for_the_first(data):
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    playground = _playground(data, engine)
    playground.run_button.click()
    assert engine.started.wait(5)
    assert playground.run() is None and "already going" in playground.message
    gate.set()
    assert playground.wait(10) and len(engine.calls) == 1


def test_import_helpers_does_not_import_ipywidgets():
    code = ("import sys, helpers, helpers.ui.settings, helpers.ui.cache, helpers.ui.run; "
            "assert 'ipywidgets' not in sys.modules; from helpers.ui import Playground; assert 'ipywidgets' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
