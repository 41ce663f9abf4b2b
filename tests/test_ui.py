import datetime
import io
import itertools
import json
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.errors import ImageError, ImageTooSmallError, NonFiniteLossError
from helpers.images import load_image, resize_image
from helpers.ui import Playground
from helpers.ui import app as app_module
from helpers.ui.settings import STYLE_LAYERS, Settings, settings_to_options

RUN_KEYS = {"callback", "callback_every", "progress"}


class FakeEngine:
    """Stands in for helpers.stylize: records each call, returns an image that depends on the options.

    A run moves from its start (the ``init`` image, else the content) towards a grey set by the layer weights.
    With ``gate`` set, each step waits for the gate (so a test can act in the middle of a run).
    """

    def __init__(self, gate=None, error=None):
        self.calls, self.contents, self.gate, self.error = [], [], gate, error
        self.started = threading.Event()
        self.last_image = None

    def __call__(self, content_image, style_image, **kwargs):
        self.calls.append(kwargs)
        self.contents.append(content_image)
        self.started.set()
        if self.error is not None:
            raise self.error
        level = sum(kwargs["style_layers"].values()) / 10
        photo = resize_image(content_image, kwargs["size"], upscale=True)
        start = kwargs["init"] if torch.is_tensor(kwargs["init"]) else photo
        history, image = [], None
        for step in range(1, kwargs["steps"] + 1):
            if self.gate is not None:
                assert self.gate.wait(10), "the test never opened the gate"
            share = step / kwargs["steps"]
            image = (start * (1 - share) + level * share).clamp(0, 1)
            history.append(
                {
                    "step": step,
                    "content": 1.0,
                    "style": 2.0 / step,
                    "tv": 0.0,
                    "total": 1.0 + 2.0 / step,
                    "size": tuple(photo.shape[-2:]),
                }
            )
            self.last_image = image
            if step % kwargs["callback_every"] == 0 and kwargs["callback"](step, image, history[-1]) is False:
                break
        return SimpleNamespace(image=image, history=history)

    def options(self, call=-1):
        return {k: v for k, v in self.calls[call].items() if k not in RUN_KEYS}


def _png(path, color, size=(40, 30)):
    Image.fromarray(np.full((size[1], size[0], 3), color, dtype=np.uint8)).save(path)


def _png_bytes(color, size):
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), color, dtype=np.uint8)).save(buffer, format="png")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "default-cache"))
    yield
    for playground in list(app_module._LIVE):
        playground.retire()
        playground.wait(10)


@pytest.fixture
def gate():
    opened = threading.Event()
    yield opened
    opened.set()


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
    return Playground(
        data, engine=engine, settings=settings, cache_dir=data.parent / "cache", save_dir=data.parent / "out", **kwargs
    )


def _upload(playground, name, data):
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    playground.upload.value = (
        {"name": name, "type": "image/png", "size": len(data), "last_modified": when, "content": memoryview(data)},
    )


def _click_run(playground):
    playground.run_button.click()
    assert playground.wait(10), "the run did not finish"
    return playground.last_record


def _decode(png):
    return torch.from_numpy(np.asarray(Image.open(io.BytesIO(png)), dtype=np.float32) / 255).permute(2, 0, 1)[None]


def test_pickers_offer_the_images_and_the_preview_starts_with_the_content(data):
    playground = _playground(data, FakeEngine())
    assert playground.content_picker.options == ("cat.png", "wave.png")
    assert playground.content_picker.value == "cat.png" and playground.style_picker.value == "wave.png"
    shown = Image.open(io.BytesIO(playground.preview.value))
    assert shown.getpixel((0, 0)) == (200, 120, 40)


def test_sliders_reach_the_engine_as_balanced_options(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    playground.layer_sliders["relu1_1"].value = 10.0
    playground.layer_sliders["relu3_1"].switch.value = False
    playground.ratio_slider.value = 1.0
    playground.tv_slider.switch.value = False
    playground.optimizer_buttons.value = "adam"
    playground.init_buttons.value = "noise"
    playground.steps_box.value = "9"
    playground.seed_box.value = "3"
    _click_run(playground)
    expected = Settings(
        content="cat.png",
        style="wave.png",
        size=64,
        steps=9,
        ratio=1.0,
        tv_weight=0.0,
        optimizer="adam",
        init="noise",
        seed=3,
        layer_weights={"relu1_1": 10.0, "relu2_1": 1.0, "relu3_1": 0.0, "relu4_1": 1.0, "relu5_1": 1.0},
    )
    assert engine.options() == settings_to_options(expected)
    call = engine.calls[-1]
    assert "relu3_1" not in call["style_layers"] and call["units"] == "balanced" and call["progress"] is False
    assert call["content_weight"] == pytest.approx(1.0) and call["style_weight"] == 1.0 and call["seed"] == 3


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


def test_the_preview_goes_on_from_the_quick_result_not_the_photo(data):
    engine = FakeEngine()
    playground = _playground(data, engine, preview_size=32, preview_steps=4, clock=itertools.count().__next__)
    shown = []
    playground.preview.observe(lambda change: shown.append((playground.progress_label.value, change["new"])), "value")
    _click_run(playground)
    assert torch.is_tensor(engine.calls[1]["init"]) and engine.calls[0]["init"] == "content"
    photo = load_image(data / "cat.png")
    quick = engine.calls[1]["init"]
    first_full = next(_decode(png) for label, png in shown if label.startswith("full size: step 5/"))
    photo = resize_image(photo, first_full.shape[-1], upscale=True)
    quick_distance = float((resize_image(quick, first_full.shape[-1], upscale=True) - photo).abs().mean())
    assert quick_distance > 0.1
    assert float((first_full - photo).abs().mean()) > 0.8 * quick_distance


def test_the_preview_and_loss_curves_show_the_result(data):
    playground = _playground(data, FakeEngine())
    before = playground.preview.value
    record = _click_run(playground)
    assert playground.preview.value != before
    shown = np.asarray(Image.open(io.BytesIO(playground.preview.value)))
    assert abs(int(shown[0, 0, 0]) - round(float(record.image[0, 0, 0, 0]) * 255)) <= 2
    assert playground.losses.value.count("<polyline") == 3
    assert "done" in playground.message


def test_time_estimates_come_from_the_measured_pace(data):
    engine, ticks = FakeEngine(), itertools.count()
    playground = _playground(data, engine, preview_size=32, preview_steps=4, clock=lambda: 2.0 * next(ticks))
    labels, statuses = [], []
    playground.progress_label.observe(lambda change: labels.append(change["new"]), "value")
    playground.status.observe(lambda change: statuses.append(playground.message), "value")
    _click_run(playground)
    assert statuses[0] == "running 64 px, 6 steps: a time estimate follows the first steps"
    # every step takes 2 s on the fake clock; the quick stage is 24x32 px, the full size 48x64 px, 4 times more
    assert "quick preview: step 4/10 · full size: about 48 s" in labels
    assert "full size: step 9/10 · about 2 s left" in labels
    playground.layer_sliders["relu1_1"].value = 2.0
    playground.run_button.click()
    assert playground.wait(10)
    assert any(s == "running 64 px, 6 steps: about 14 s, judging by the last run" for s in statuses)


def test_stop_keeps_the_current_image(data, gate):
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


def test_the_cache_lives_outside_the_data_folder_by_default(data, tmp_path):
    playground = Playground(data, engine=FakeEngine(), settings=Settings(content="cat.png", style="wave.png", size=64))
    assert playground.cache.root == tmp_path / "default-cache"
    assert not (data.parent / ".nst_cache").exists()


def test_a_changed_image_file_is_never_answered_from_the_cache(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    first = _click_run(playground)
    _png(data / "cat.png", (10, 220, 10))
    second = _click_run(playground)
    assert len(engine.calls) == 2 and not second.cached and second.key != first.key
    assert engine.contents[0][0, 1, 0, 0] == pytest.approx(120 / 255)
    assert engine.contents[1][0, 1, 0, 0] == pytest.approx(220 / 255)


def test_the_seed_is_ignored_and_left_out_of_the_key_unless_the_start_is_noise(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    first = _click_run(playground)
    assert playground.seed_box.disabled
    playground.seed_box.value = "5"
    assert playground.run().cached and len(engine.calls) == 1
    playground.init_buttons.value = "noise"
    noisy = _click_run(playground)
    playground.seed_box.value = "6"
    other = _click_run(playground)
    assert len(engine.calls) == 3 and len({first.key, noisy.key, other.key}) == 3
    assert [call["seed"] for call in engine.calls] == [0, 5, 6]


def test_the_cache_survives_a_new_playground(data):
    engine = FakeEngine()
    _click_run(_playground(data, engine))
    assert _playground(data, engine).run().cached and len(engine.calls) == 1


def test_no_cache_when_disabled(data):
    engine = FakeEngine()
    playground = Playground(
        data, engine=engine, cache_dir=False, settings=Settings(content="cat.png", style="wave.png", size=40, steps=2)
    )
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


def test_a_good_upload_becomes_the_content_and_the_button_is_ready_again(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    _upload(playground, "me.png", _png_bytes((0, 255, 0), (40, 48)))
    assert playground.content_picker.value == "upload: me.png" and playground.upload.value == ()
    assert "upload: me.png" in playground.style_picker.options and playground.style_picker.value == "wave.png"
    assert playground.message == "me.png is now the content picture (it is in the style picker too)"
    seen = []
    playground.engine = lambda content, style, **kw: seen.append(content) or engine(content, style, **kw)
    _click_run(playground)
    assert seen[0].shape == (1, 3, 48, 40)
    torch.testing.assert_close(seen[0][0, :, 0, 0], torch.tensor([0.0, 1.0, 0.0]))
    playground.content_picker.value = "cat.png"
    _upload(playground, "me.png", _png_bytes((0, 255, 0), (40, 48)))
    assert playground.content_picker.value == "upload: me.png"


def test_a_one_pixel_upload_is_refused_in_the_playgrounds_terms(data):
    playground = _playground(data, FakeEngine())
    _upload(playground, "dot.png", _png_bytes((9, 9, 9), (1, 1)))
    assert playground.message.startswith("dot.png is 1×1 px") and "relu4_2" in playground.message
    assert "upload: dot.png" not in playground.content_picker.options


def test_a_small_upload_is_refused_by_run_until_the_deep_layer_is_off(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    _upload(playground, "tiny.png", _png_bytes((9, 200, 9), (8, 8)))
    assert "relu5_1" in playground.message and "turn off relu5_1" in playground.message
    playground.run_button.click()
    assert engine.calls == [] and "tiny.png is 8×8 px" in playground.message
    assert "turn off relu5_1" in playground.message and "quick" not in playground.message
    playground.layer_sliders["relu5_1"].switch.value = False
    _click_run(playground)
    assert len(engine.calls) == 1 and "relu5_1" not in engine.calls[0]["style_layers"]


def test_the_engines_size_error_is_said_in_the_playgrounds_terms(data):
    error = ImageTooSmallError(
        "the content image at size=128 is 128x3 px, too small for layer relu4_2, which needs at "
        "least 8x8 px; use a larger image or size, or leave out the layers deeper than block 3"
    )
    playground = _playground(data, FakeEngine(error=error))
    _click_run(playground)
    assert "content picture is too small at 64 px" in playground.message and "turn off" in playground.message
    assert "block" not in playground.message and "size=" not in playground.message


def test_invalid_settings_are_shown_and_nothing_runs(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    for control in playground.layer_sliders.values():
        control.switch.value = False
    playground.run_button.click()
    assert not playground.running and engine.calls == []
    assert "turn at least one layer on" in playground.message
    with pytest.raises(ValueError, match="at least one layer"):
        playground.run(wait=True)


def test_a_mistyped_number_is_refused_by_run_with_its_reason(data):
    engine = FakeEngine()
    playground = _playground(data, engine)
    playground.init_buttons.value = "noise"
    playground.seed_box.value = "1e3"
    playground.run_button.click()
    assert engine.calls == [] and playground.seed_box.value == "1e3"
    assert playground.message == "seed: '1e3' is not a whole number; type digits only, e.g. 1"


def test_settings_moved_during_a_run_are_flagged_until_run_applies_them(data, gate):
    engine = FakeEngine(gate=gate)
    playground = _playground(data, engine)
    playground.run_button.click()
    assert engine.started.wait(5)
    assert playground.changed.value == ""
    playground.layer_sliders["relu2_1"].value = 5.0
    assert "press Run to apply them" in playground.changed.value
    gate.set()
    assert playground.wait(10)
    assert playground.last_record.settings.layer_weights["relu2_1"] == 1.0
    assert "the settings have moved since it started: press Run to apply them" in playground.message
    _click_run(playground)
    assert playground.changed.value == "" and playground.last_record.settings.layer_weights["relu2_1"] == 5.0
    assert "moved" not in playground.message


def test_moving_a_slider_back_clears_the_flag(data, gate):
    playground = _playground(data, FakeEngine(gate=gate))
    playground.run_button.click()
    playground.layer_sliders["relu2_1"].value = 5.0
    playground.layer_sliders["relu2_1"].value = 1.0
    assert playground.changed.value == ""


def test_an_engine_error_is_shown_not_raised_by_the_button(data):
    engine = FakeEngine(error=NonFiniteLossError("the loss became NaN at step 3; lower the learning rate"))
    playground = _playground(data, engine)
    _click_run(playground)
    assert "the loss became NaN at step 3" in playground.message
    assert playground.last_record is None and not playground.run_button.disabled
    with pytest.raises(NonFiniteLossError):
        playground.run(wait=True)


def test_the_gallery_keeps_one_entry_per_result_newest_first(data):
    engine = FakeEngine()
    playground = _playground(data, engine, gallery_size=2)
    first = _click_run(playground)
    playground.layer_sliders["relu1_1"].value = 10.0
    second = _click_run(playground)
    assert len(playground.gallery.children) == 2 and playground.records == [second, first]
    captions = [entry.children[1].value for entry in playground.gallery.children]
    assert "layers 10/1/1/1/1" in captions[0] and "layers 1/1/1/1/1" in captions[1]
    playground.gallery.children[1].children[2].click()
    assert playground.settings == first.settings
    again = playground.run()
    assert again.cached and len(playground.gallery.children) == 2 and playground.records[0] is again
    assert [r.key for r in playground.records] == [first.key, second.key]
    playground.layer_sliders["relu2_1"].switch.value = False
    third = _click_run(playground)
    assert [r.key for r in playground.records] == [third.key, first.key]


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
    assert json.loads(saved.text["nst:options"])["style_layers"] == dict.fromkeys(STYLE_LAYERS, 1.0)
    assert saved.text["nst:stopped"] == "False"


def test_set_settings_moves_every_widget(data):
    playground = _playground(data, FakeEngine())
    settings = Settings(
        content="wave.png",
        style="cat.png",
        ratio=0.5,
        tv_weight=0.003,
        size=96,
        steps=12,
        optimizer="adam",
        init="noise",
        seed=5,
        layer_weights={"relu1_1": 0.1, "relu2_1": 0.3, "relu3_1": 0.0, "relu4_1": 7.0, "relu5_1": 90.0},
    )
    playground.set_settings(settings)
    assert playground.settings == settings


def test_a_second_run_waits_for_the_first(data, gate):
    engine = FakeEngine(gate=gate)
    playground = _playground(data, engine)
    playground.run_button.click()
    assert engine.started.wait(5)
    assert playground.run() is None and "already going" in playground.message
    gate.set()
    assert playground.wait(10) and len(engine.calls) == 1


def test_a_new_playground_stops_the_run_of_the_one_it_replaces(data, gate):
    old_engine, new_engine = FakeEngine(gate=gate), FakeEngine()
    old = _playground(data, old_engine, settings=Settings(content="cat.png", style="wave.png", size=64, steps=500))
    old.run_button.click()
    assert old_engine.started.wait(5)
    new = _playground(data, new_engine)
    assert old.retired and not new.retired
    new.run_button.click()
    gate.set()
    assert old.wait(10) and new.wait(10)
    assert old.last_record.stopped and len(old.last_record.history) < 500
    assert new.last_record is not None and not new.last_record.stopped
    assert list(app_module._LIVE) == [new]


def test_import_helpers_does_not_import_ipywidgets():
    code = (
        "import sys, helpers, helpers.ui.settings, helpers.ui.cache, helpers.ui.run, helpers.ui.sizes, "
        "helpers.ui.upload; assert 'ipywidgets' not in sys.modules; from helpers.ui import Playground; "
        "assert 'ipywidgets' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_real_time_start_shows_the_networks_picture_before_the_optimisation(data):
    shown = {}

    class Watching(FakeEngine):
        def __call__(self, content_image, style_image, **kwargs):
            shown["preview"], shown["message"] = playground.preview.value, playground.message
            return super().__call__(content_image, style_image, **kwargs)

    engine = Watching()
    playground = _playground(
        data, engine, settings=Settings(content="cat.png", style="wave.png", size=64, steps=3, init="fast")
    )
    before = playground.preview.value
    playground.run(wait=True)
    assert len(engine.calls) == 1 and engine.calls[0]["init"] == "fast"  # one stage: no quick preview
    assert shown["preview"] != before and "real-time network's picture" in shown["message"]
    picture = np.asarray(Image.open(io.BytesIO(shown["preview"])).convert("RGB"), dtype=float)
    assert picture.std() > 1  # the network paints the flat photo: not a flat picture any more
