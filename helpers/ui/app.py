"""The style-weights playground: ipywidgets controls that steer ``helpers.stylize`` by hand.

Imported on its own (``from helpers.ui import Playground``): ``import helpers`` never imports ipywidgets.
A run goes in a background thread, so the kernel stays free to handle Stop; it runs a quick stage
at a small size first, then the requested size.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import torch
from torch import Tensor

from .. import engine as engine_module
from ..errors import ImageError
from ..images import load_image, save_image
from ..runtime import data_dir as default_data_dir
from ..vgg import cached_vgg19
from .cache import ResultCache, cache_key, to_json_values
from .controls import PREVIEW_WIDTH, Controls
from .render import loss_plot_svg, png_bytes
from .run import RunRecord, run_stages
from .settings import Settings, preview_options, settings_metadata, settings_to_options

__all__ = ["Playground"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_INPUT_SIZE = 1024


def _loss_weights(options: dict[str, Any]) -> dict[str, float]:
    return {"content": options["content_weight"], "style": options["style_weight"], "tv": options["tv_weight"]}


class Playground(Controls):
    """Widgets that steer the optimisation by hand: pickers, weight sliders, Run/Stop, preview, gallery.

    Args:
        data_dir: folder of images to pick from; ``helpers.data_dir()`` when None.
        settings: the starting settings (``Settings()`` when None).
        engine: the function called as ``engine(content, style, **options, callback=..., ...)``;
            ``helpers.stylize`` when None. Tests pass a fake.
        device: where the images and the network go; None leaves it to the engine.
        cache_dir: folder of the result cache (None: ``.nst_cache`` beside ``data_dir``; False: no cache).
        save_dir: where Save writes PNGs (None: ``outputs`` beside ``data_dir``).
        preview_size, preview_steps: size and steps of the quick first stage.

    Display it as the last expression of a cell. Built in notebooks/05_style_weights_playground.ipynb.
    """

    def __init__(self, data_dir: str | Path | None = None, *, settings: Settings | None = None,
                 engine: Callable[..., Any] | None = None, device: Any = None,
                 cache_dir: str | Path | bool | None = None, save_dir: str | Path | None = None,
                 preview_size: int = 128, preview_steps: int = 8, gallery_size: int = 6) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.engine = engine or engine_module.stylize
        self.device = device
        root = self.data_dir.parent
        self.cache = None if cache_dir is False else ResultCache(root / ".nst_cache" if cache_dir in (None, True) else cache_dir)
        self.save_dir = Path(save_dir) if save_dir is not None else root / "outputs"
        self.preview_size, self.preview_steps, self.gallery_size = preview_size, preview_steps, gallery_size
        self.last_record: RunRecord | None = None
        self.last_error: BaseException | None = None
        self.records: list[RunRecord] = []
        self._uploads: dict[str, bytes] = {}
        self._images: dict[str, Tensor] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: list[dict[str, Any]] = []
        self._weights: dict[str, float] = {}
        self._shown = {"preview": 0.0, "plot": 0.0}
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

    def set_settings(self, settings: Settings) -> None:
        """Move every widget to ``settings`` (image names must be in data_dir or uploaded) and show the images."""
        super().set_settings(settings)
        self._show_thumb(settings.content, self.content_thumb)
        self._show_thumb(settings.style, self.style_thumb)
        if self.last_record is None:
            self._show_thumb(settings.content, self.preview, PREVIEW_WIDTH)

    def _source_bytes(self, name: str) -> bytes:
        if name in self._uploads:
            return self._uploads[name]
        try:
            return (self.data_dir / name).read_bytes()
        except OSError as error:
            raise ImageError(f"{name}: cannot be read ({error.strerror or error})") from None

    def _load(self, name: str) -> Tensor:
        if name not in self._images:
            image = load_image(self._source_bytes(name), max_size=MAX_INPUT_SIZE, name=name)
            self._images[name] = image.to(self.device) if self.device is not None else image
        return self._images[name]

    def _show_thumb(self, name: str, target: widgets.Image, size: int = 96) -> None:
        try:
            target.value = png_bytes(self._load(name), size)
        except ImageError as error:
            self.say(str(error), "error")

    def _on_upload(self, change: dict[str, Any]) -> None:
        for item in change["new"]:
            self.add_upload(item["name"], bytes(item["content"]))

    def add_upload(self, name: str, data: bytes) -> bool:
        """Offer an uploaded picture in both pickers and choose it as content; an unreadable one is reported."""
        try:
            load_image(data, max_size=MAX_INPUT_SIZE, name=name)
        except ImageError as error:
            self.say(str(error), "error")
            return False
        label = f"upload: {name}"
        self._uploads[label] = bytes(data)
        self._images.pop(label, None)
        for picker in (self.content_picker, self.style_picker):
            value = picker.value
            if label not in picker.options:
                picker.options = (*picker.options, label)
            picker.value = value
        self.content_picker.value = label
        self.say(f"{name} is now the content image (it is in the style picker too)", "info")
        return True

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = running
        self.stop_button.disabled = not running
        self.save_button.disabled = running or self.last_record is None

    @property
    def running(self) -> bool:
        """True while a run thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # ---- running ----
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
        settings = self.settings
        try:
            options = settings_to_options(settings)
            content_image, style_image = self._load(settings.content), self._load(settings.style)
            sources = [self._source_bytes(settings.content), self._source_bytes(settings.style)]
        except ValueError as error:  # ImageError is a ValueError too
            return self._fail(error, wait)
        key = cache_key(options, sources, tag=self._engine_tag())
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            record = RunRecord(settings, options, cached.image, cached.history, cached.seconds, key, cached=True)
            self._finish(record)
            return record
        self._stop.clear()
        self._set_running(True)
        self.say(f"running {settings.size} px, {settings.steps} steps...", "info")
        self._thread = threading.Thread(target=self._work, args=(settings, options, content_image, style_image, key),
                                        name="nst-playground", daemon=True)
        self._thread.start()
        if not wait:
            return None
        self.wait()
        if self.last_error is not None:
            raise self.last_error
        return self.last_record

    def stop(self) -> None:
        """Ask the run to end after its current step; the image so far is kept."""
        if self.running:
            self._stop.set()
            self.say("stopping after the current step...", "warning")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run thread ends; True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def close(self) -> None:
        """Stop any run, wait for it and close the widgets."""
        self.stop()
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

    def _work(self, settings: Settings, options: dict[str, Any], content_image: Tensor, style_image: Tensor,
              key: str) -> None:
        quick = preview_options(options, self.preview_size, self.preview_steps)
        self.progress.max = options["steps"] + (quick["steps"] if quick else 0)
        self.progress.value = 0
        self._live, self._weights = [], _loss_weights(options)
        try:
            outcome = run_stages(self.engine, content_image, style_image, options, stop=self._stop,
                                 on_step=self._on_step, on_stage=self._on_stage, extras=self._extras(),
                                 preview_size=self.preview_size, preview_steps=self.preview_steps)
            record = RunRecord(settings, options, outcome.image.cpu(), to_json_values(outcome.history), outcome.seconds, key,
                               stopped=outcome.stopped, first_preview=outcome.first_preview)
            if not record.stopped and self.cache is not None:
                self.cache.put(key, record.image, record.history, record.seconds, settings_metadata(settings, options))
            self._finish(record)
        except Exception as error:  # shown in the interface; run(wait=True) raises it again
            self._fail(error, wait=False)
        finally:
            self._set_running(False)

    def _on_step(self, step: int, image: Tensor, record: Mapping[str, Any], stage: str) -> None:
        self.progress.value = min(step, self.progress.max)
        self._live.append({**record, "step": record.get("step", step)})
        now = time.perf_counter()
        if now - self._shown["preview"] >= 0.3:
            self._shown["preview"] = now
            self.preview.value = png_bytes(image, PREVIEW_WIDTH)
            total = record.get("total")
            self.progress_label.value = f"{stage}: step {step}/{self.progress.max}" + (
                f", loss {float(total):.3g}" if total is not None else "")
        if now - self._shown["plot"] >= 0.5:
            self._shown["plot"] = now
            self.losses.value = loss_plot_svg(self._live, stage, weights=self._weights)

    def _on_stage(self, stage: str, image: Tensor, history: list) -> None:
        self._live = []
        self.preview.value = png_bytes(image, PREVIEW_WIDTH)
        self.losses.value = loss_plot_svg(history, stage, weights=self._weights)
        if stage == "quick preview":
            self.say("quick preview done; now the requested size...", "info")

    def _finish(self, record: RunRecord) -> None:
        self.last_record = record
        self.preview.value = png_bytes(record.image, PREVIEW_WIDTH)
        self.losses.value = loss_plot_svg(record.history, "weighted loss terms", weights=_loss_weights(record.options))
        self.progress.value = self.progress.max if not record.stopped else self.progress.value
        self.progress_label.value = "stopped" if record.stopped else "done"
        if record.cached:
            self.say(f"from the cache (the run took {record.seconds:.1f} s)", "done")
        elif record.stopped:
            self.say(f"stopped after {record.seconds:.1f} s: the image so far is kept (not cached)", "warning")
        else:
            self.say(f"done in {record.seconds:.1f} s", "done")
        self._add_to_gallery(record)
        if not self.running:
            self._set_running(False)

    def _fail(self, error: BaseException, wait: bool) -> None:
        self.last_error = error
        message = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        self.say(message, "error")
        if wait:
            raise error

    def _add_to_gallery(self, record: RunRecord) -> None:
        self.records.insert(0, record)
        del self.records[self.gallery_size:]
        self.gallery.children = [self._gallery_entry(r) for r in self.records]

    def _gallery_entry(self, record: RunRecord) -> widgets.Widget:
        picture = widgets.Image(value=png_bytes(record.image, 200), format="png", width=200)
        caption = widgets.HTML(f'<div style="font-size:11px;line-height:1.3;width:200px">{html.escape(record.caption)}</div>')
        reuse = widgets.Button(description="use these settings", layout=widgets.Layout(width="200px"))
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
