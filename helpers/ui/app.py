"""The style-weights playground: ipywidgets controls that steer ``helpers.stylize`` by hand.

Imported on its own (``from helpers.ui import Playground``): ``import helpers`` never imports ipywidgets.
A run goes in a background thread, so the kernel stays free to handle Stop; it runs a quick stage
at a small size first, then the requested size started from the quick result.
"""

from __future__ import annotations

import hashlib
import html
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import torch
from torch import Tensor

from .. import engine as engine_module
from ..errors import ImageError, ImageTooSmallError
from ..images import load_image, resize_image, save_image
from ..options import StyleOptions
from ..runtime import data_dir as default_data_dir
from ..vgg import cached_vgg19
from .cache import ResultCache, cache_key, environment, to_json_values
from .controls import PREVIEW_WIDTH, Controls
from .render import loss_plot_svg, png_bytes
from .run import RunRecord, StepTimer, format_seconds, run_stages
from .settings import Settings, settings_metadata, settings_to_options
from .sizes import FULL, QUICK, enlargement_note, picture_problem, plan_stages, stage_shape

__all__ = ["Playground"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_INPUT_SIZE = 1024
_LIVE: weakref.WeakSet = weakref.WeakSet()
_CHANGED = "the settings have moved since this run started: it goes on with the old ones; press Run to apply them"


def _loss_weights(options: Mapping[str, Any]) -> dict[str, float]:
    return {"content": options["content_weight"], "style": options["style_weight"], "tv": options["tv_weight"]}


@dataclass
class _Progress:
    """What the callbacks of one run share: its stages, its pace, the loss records so far and the last redraws."""

    weights: dict[str, float]
    stages: dict[str, dict[str, Any]]
    content_shape: tuple[int, ...]
    timer: StepTimer = field(default_factory=StepTimer)
    live: list[dict[str, Any]] = field(default_factory=list)
    shown: str | None = None
    preview_at: float = -math.inf
    plot_at: float = -math.inf


class Playground(Controls):
    """Widgets that steer the optimisation by hand: pickers, weight sliders, Run/Stop, preview, gallery.

    Making a new one stops the runs of the playgrounds made before it (re-running the cell replaces them).

    Args:
        data_dir: folder of images to pick from; ``helpers.data_dir()`` when None.
        settings: the starting settings (``Settings()`` when None).
        engine: the function called as ``engine(content, style, **options, callback=..., ...)``;
            ``helpers.stylize`` when None. Tests pass a fake.
        device: where the images and the network go; None leaves it to the engine (the CPU).
        cache_dir: folder of the result cache (None: ``helpers.ui.cache.default_cache_dir()``; False: no cache).
        save_dir: where Save writes PNGs (None: ``outputs`` beside ``data_dir``).
        preview_size, preview_steps: size and steps of the quick first stage.
        clock: returns seconds, for the previews' pace and the time estimates (tests pass a fake).

    Display it as the last expression of a cell. Built in notebooks/05_style_weights_playground.ipynb.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        engine: Callable[..., Any] | None = None,
        device: Any = None,
        cache_dir: str | Path | bool | None = None,
        save_dir: str | Path | None = None,
        preview_size: int = 128,
        preview_steps: int = 8,
        gallery_size: int = 6,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.engine = engine or engine_module.stylize
        self.device = device
        self.cache = None if cache_dir is False else ResultCache(None if cache_dir in (None, True) else cache_dir)
        self.save_dir = Path(save_dir) if save_dir is not None else self.data_dir.parent / "outputs"
        self.preview_size, self.preview_steps, self.gallery_size = preview_size, preview_steps, gallery_size
        self.clock = clock
        self.last_record: RunRecord | None = None
        self.last_error: BaseException | None = None
        self.records: list[RunRecord] = []
        self.retired = False
        self._entries: dict[str, widgets.Widget] = {}
        self._uploads: dict[str, bytes] = {}
        self._images: dict[str, Tensor] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running_settings: Settings | None = None
        self._progress = _Progress({}, {}, ())
        self._speed: float | None = None
        self._predecessors = [old for old in list(_LIVE) if old.running]
        for old in list(_LIVE):
            old.retire()
        _LIVE.add(self)
        files = sorted(p.name for p in self.data_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        super().__init__(files, settings or Settings())
        self._wire()
        if self.engine is engine_module.stylize:
            self._extras()  # load VGG19 now rather than on the first Run, so the first preview comes sooner

    def _wire(self) -> None:
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self.save())
        self.content_picker.observe(lambda change: self._show_thumb(change["new"], self.content_thumb), "value")
        self.style_picker.observe(lambda change: self._show_thumb(change["new"], self.style_thumb), "value")
        self.upload.observe(self._on_upload, "value")
        for widget in self.setting_widgets():
            widget.observe(self._on_setting_change, "value")

    def set_settings(self, settings: Settings) -> None:
        """Move every widget to ``settings`` (image names must be in data_dir or uploaded) and show the images."""
        super().set_settings(settings)
        self._show_thumb(settings.content, self.content_thumb)
        self._show_thumb(settings.style, self.style_thumb)
        if self.last_record is None:
            self._show_thumb(settings.content, self.preview, PREVIEW_WIDTH)

    # ---- pictures ----
    def _source_bytes(self, name: str) -> bytes:
        if name in self._uploads:
            return self._uploads[name]
        try:
            return (self.data_dir / name).read_bytes()
        except OSError as error:
            raise ImageError(f"{name}: cannot be read ({error.strerror or error})") from None

    def _load(self, name: str) -> Tensor:
        """The picture as the engine gets it."""
        return self._decode(self._source_bytes(name), name)

    def _decode(self, data: bytes, name: str) -> Tensor:
        """``data`` decoded into the image contract, at most ``MAX_INPUT_SIZE`` px, once per distinct content."""
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._images:
            image = load_image(data, max_size=MAX_INPUT_SIZE, name=name)
            self._images[digest] = image.to(self.device) if self.device is not None else image
        return self._images[digest]

    def _show_thumb(self, name: str, target: widgets.Image, size: int = 64) -> None:
        try:
            target.value = png_bytes(self._load(name), size, upscale=True)
        except ImageError as error:
            self.say(str(error), "error")

    def _on_upload(self, change: dict[str, Any]) -> None:
        if not change["new"]:
            return
        for item in change["new"]:
            self.add_upload(item["name"], bytes(item["content"]))
        self.upload.value = ()  # so that the same file can be sent again

    def add_upload(self, name: str, data: bytes) -> bool:
        """Offer an uploaded picture in both pickers and choose it as content; an unusable one is reported."""
        try:
            shape = self._decode(data, name).shape
        except ImageError as error:
            self.say(str(error), "error")
            return False
        refused = picture_problem(name, shape, [])
        if refused:
            self.say(refused, "error")
            return False
        label = f"upload: {name}"
        self._uploads[label] = bytes(data)
        for picker in (self.content_picker, self.style_picker):
            value = picker.value
            if label not in picker.options:
                picker.options = (*picker.options, label)
            picker.value = value
        self.content_picker.value = label
        on = [layer for layer, control in self.layer_sliders.items() if control.on]
        warning = picture_problem(name, shape, on) or enlargement_note(name, shape, int(self.size_picker.value))
        text = f"{name} is now the content picture (it is in the style picker too)"
        self.say(f"{text}; but {warning}" if warning else text, "warning" if warning else "info")
        return True

    # ---- running ----
    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = running
        self.stop_button.disabled = not running
        self.save_button.disabled = running or self.last_record is None

    @property
    def running(self) -> bool:
        """True while a run thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def run(self, wait: bool = False) -> RunRecord | None:
        """Start a run with the current settings (what Run does); a cached result comes back at once.

        Args:
            wait: block until the run ends and return its record; errors are then raised as well as shown.

        Returns:
            The record when it came from the cache or ``wait`` is true, else None (the run goes on in a thread).
        """
        if self.running:
            self.say("a run is already going: press Stop first", "warning")
            return None
        self.last_error = None
        self.changed.value = ""
        try:
            settings = self.settings
            options = settings_to_options(settings)
            content_image, style_image = self._load(settings.content), self._load(settings.style)
            shapes = {
                f"the content picture {settings.content}": content_image.shape,
                f"the style picture {settings.style}": style_image.shape,
            }
            stages = plan_stages(options, shapes, self.preview_size, self.preview_steps)
        except ValueError as error:  # ImageError is a ValueError too
            return self._fail(error, wait)
        key = self._key(stages, content_image, style_image)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            record = RunRecord(settings, options, cached.image, cached.history, cached.seconds, key, cached=True)
            self._finish(record)
            return record
        self._stop.clear()
        self._running_settings = settings
        self._set_running(True)
        self.say(f"running {settings.size} px, {settings.steps} steps: {self._estimate(stages, content_image)}", "info")
        self._thread = threading.Thread(
            target=self._work,
            name="nst-playground",
            daemon=True,
            args=(settings, options, stages, content_image, style_image, key),
        )
        self._thread.start()
        if not wait:
            return None
        self.wait()
        if self.last_error is not None:
            raise self.last_error
        return self.last_record

    def _key(self, stages: list, content_image: Tensor, style_image: Tensor) -> str:
        full = [
            {"stage": label, "options": StyleOptions(**stage, callback_every=1, progress=False).to_dict()}
            for label, stage in stages
        ]
        device = torch.device(self.device) if self.device is not None else content_image.device
        run = {"engine": self._engine_tag(), "stages": full, "input_size": MAX_INPUT_SIZE}
        return cache_key(run, [content_image, style_image], environment(device, stages[-1][1].get("precision", "auto")))

    def _estimate(self, stages: list, content_image: Tensor) -> str:
        if self._speed is None:
            return "a time estimate follows the first steps"
        pixels = [stage_shape(content_image.shape, stage["size"]) for _, stage in stages]
        seconds = sum(self._speed * h * w * stage["steps"] for (h, w), (_, stage) in zip(pixels, stages))
        return f"about {format_seconds(seconds)}, judging by the last run"

    def stop(self) -> None:
        """Ask the run to end after its current step (L-BFGS: its line search); the image so far is kept."""
        if self.running:
            self._stop.set()
            self.say("stopping after the current step...", "warning")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run thread ends; True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def retire(self) -> None:
        """Stop this playground's run without waiting for it: a newer playground has taken over."""
        self.retired = True
        self.stop()
        _LIVE.discard(self)

    def close(self) -> None:
        """Stop any run, wait for it and close the widgets."""
        self.retire()
        self.wait(30)
        super().close()

    def _engine_tag(self) -> str:
        return f"{getattr(self.engine, '__module__', '')}.{getattr(self.engine, '__qualname__', repr(self.engine))}"

    def _extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {"progress": False}
        if self.device is not None:
            extras["device"] = self.device
        if self.engine is engine_module.stylize:  # the engine's own cached VGG19, shared with stylize() calls
            device = torch.device(self.device if self.device is not None else "cpu")
            extras["extractor"] = cached_vgg19("caffe", "max", device)
        return extras

    def _work(
        self,
        settings: Settings,
        options: dict[str, Any],
        stages: list,
        content_image: Tensor,
        style_image: Tensor,
        key: str,
    ) -> None:
        for old in self._predecessors:
            if old.running:
                self.say("waiting for the previous playground's run to stop...", "warning")
                old.wait()
        self._predecessors = []
        self.progress.max, self.progress.value = sum(stage["steps"] for _, stage in stages), 0
        self._progress = _Progress(_loss_weights(options), dict(stages), tuple(content_image.shape))
        try:
            if options["init"] == "fast":
                self._show_network_picture(content_image, style_image, options["size"])
            outcome = run_stages(
                self.engine,
                content_image,
                style_image,
                stages,
                stop=self._stop,
                on_step=self._on_step,
                on_stage=self._on_stage,
                extras=self._extras(),
            )
            record = RunRecord(
                settings,
                options,
                outcome.image.cpu(),
                to_json_values(outcome.history),
                outcome.seconds,
                key,
                stopped=outcome.stopped,
                first_preview=outcome.first_preview,
            )
            if not record.stopped and self.cache is not None:
                self.cache.put(key, record.image, record.history, record.seconds, settings_metadata(settings, options))
            self._finish(record)
        except ImageTooSmallError as error:
            picture = "content" if "content image" in str(error) else "style"
            self._fail(
                ImageTooSmallError(
                    f"the {picture} picture is too small at {settings.size} px for the layers "
                    "that are on: pick a larger size, or turn off the deepest style layers"
                ),
                wait=False,
            )
        except Exception as error:  # noqa: BLE001 - any failure is shown in the interface; run(wait=True) raises it
            self._fail(error, wait=False)
        finally:
            timer = self._progress.timer
            self._speed = timer.per_pixel_step(FULL) or timer.per_pixel_step(QUICK) or self._speed
            self._set_running(False)

    def _show_network_picture(self, content_image: Tensor, style_image: Tensor, size: int) -> None:
        """Show the real-time network's picture at once (notebook 06); the optimisation then starts from it."""
        from ..realtime import fast_stylize

        began = self.clock()
        picture = fast_stylize(resize_image(content_image, size, upscale=True), style_image)
        self.preview.value = png_bytes(picture, PREVIEW_WIDTH, upscale=True)
        self.say(
            f"the real-time network's picture ({1000 * (self.clock() - began):.0f} ms); "
            "the optimisation now refines it...",
            "info",
        )

    def _on_step(self, step: int, image: Tensor, record: Mapping[str, Any], stage: str) -> None:
        run, now = self._progress, self.clock()
        self.progress.value = min(step, self.progress.max)
        run.live.append({**record, "step": record.get("step", step)})
        run.timer.mark(stage, step, image.shape[-2] * image.shape[-1], now)
        if stage != run.shown or now - run.preview_at >= 0.3:
            run.shown, run.preview_at = stage, now
            self.preview.value = png_bytes(image, PREVIEW_WIDTH, upscale=True)
            self.progress_label.value = self._progress_text(step, stage)
        if now - run.plot_at >= 0.5:
            run.plot_at = now
            self.losses.value = loss_plot_svg(run.live, stage, width=PREVIEW_WIDTH, weights=run.weights)

    def _progress_text(self, step: int, stage: str) -> str:
        run, text = self._progress, f"{stage}: step {step}/{self.progress.max}"
        speed, full = run.timer.per_pixel_step(QUICK), run.stages[FULL]
        if stage == QUICK and speed is not None:
            h, w = stage_shape(run.content_shape, full["size"])
            return f"{text} · full size: about {format_seconds(speed * h * w * full['steps'])}"
        left = run.timer.left(stage, self.progress.max)
        return f"{text} · about {format_seconds(left)} left" if left is not None else f"{text} · timing the first steps"

    def _on_stage(self, stage: str, image: Tensor, history: list) -> None:
        self._progress.live = []
        self.preview.value = png_bytes(image, PREVIEW_WIDTH, upscale=True)
        self.losses.value = loss_plot_svg(history, stage, width=PREVIEW_WIDTH, weights=self._progress.weights)
        if stage == QUICK:
            self.say("quick preview done; now the full size, starting from it...", "info")

    def _on_setting_change(self, _change: Mapping[str, Any]) -> None:
        if not self.running or self._running_settings is None:
            return
        try:
            moved = self.settings != self._running_settings
        except ValueError:
            moved = True
        self.changed.value = f'<span style="color:#9a6700">{html.escape(_CHANGED)}</span>' if moved else ""

    def _finish(self, record: RunRecord) -> None:
        self.last_record = record
        self.preview.value = png_bytes(record.image, PREVIEW_WIDTH, upscale=True)
        self.losses.value = loss_plot_svg(
            record.history, "weighted loss terms", width=PREVIEW_WIDTH, weights=_loss_weights(record.options)
        )
        self.progress.value = self.progress.max if not record.stopped else self.progress.value
        self.progress_label.value = "stopped" if record.stopped else "done"
        if record.cached:
            text, kind = f"from the cache (the run took {record.seconds:.1f} s)", "done"
        elif record.stopped:
            text, kind = f"stopped after {record.seconds:.1f} s: the image so far is kept (not cached)", "warning"
        else:
            text, kind = f"done in {record.seconds:.1f} s", "done"
        if not record.cached and self._moved_since(record.settings):
            text, kind = f"{text}; the settings have moved since it started: press Run to apply them", "warning"
        self.say(text, kind)
        self._add_to_gallery(record)
        if not self.running:
            self._set_running(False)

    def _moved_since(self, settings: Settings) -> bool:
        try:
            return self.settings != settings
        except ValueError:
            return True

    def _fail(self, error: BaseException, wait: bool) -> None:
        self.last_error = error
        message = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        self.say(message, "error")
        if wait:
            raise error

    def _add_to_gallery(self, record: RunRecord) -> None:
        """Put ``record`` first; an older entry for the same settings and pictures (the same key) gives way."""
        old = self._entries.pop(record.key, None)
        if old is not None:
            old.close()
        self.records = [record, *(r for r in self.records if r.key != record.key)]
        for dropped in self.records[self.gallery_size :]:
            self._entries.pop(dropped.key).close()
        del self.records[self.gallery_size :]
        self._entries[record.key] = self._gallery_entry(record)
        self.gallery.children = [self._entries[r.key] for r in self.records]

    def _gallery_entry(self, record: RunRecord) -> widgets.Widget:
        picture = widgets.Image(value=png_bytes(record.image, 200, upscale=True), format="png")
        caption = widgets.HTML(
            f'<div style="font-size:11px;line-height:1.3;width:200px">{html.escape(record.caption)}</div>',
            tooltip="the settings of this result",
        )
        reuse = widgets.Button(
            description="use these settings",
            layout=widgets.Layout(width="200px"),
            tooltip="move the controls to this result's settings",
        )
        reuse.on_click(lambda _: self.set_settings(record.settings))
        return widgets.VBox([picture, caption, reuse], layout=widgets.Layout(margin="0 8px 8px 0"))

    # ---- saving ----
    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the current result as a PNG whose text metadata holds the settings and engine options."""
        record = self.last_record
        if record is None:
            self.say("nothing to save yet: press Run first", "warning")
            return None
        path = Path(path) if path is not None else self.save_dir / f"playground_{record.key[:12]}.png"
        metadata = {**settings_metadata(record.settings, record.options), "nst:stopped": str(record.stopped)}
        try:
            written = save_image(record.image, path, metadata=metadata)
        except OSError as error:
            self.say(f"could not save {path}: {error}", "error")
            return None
        self.say(f"saved {written}", "done")
        return written
