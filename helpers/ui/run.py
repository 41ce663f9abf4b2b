"""The playground's run: a quick stage at a small size, then the requested size, stoppable between steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from .settings import Settings, describe_settings, preview_options

__all__ = ["RunRecord", "StagedRun", "run_stages"]

StepHook = Callable[[int, Tensor, Mapping[str, Any], str], None]
StageHook = Callable[[str, Tensor, list], None]


@dataclass
class RunRecord:
    """One finished or stopped run: settings, engine options, image (1, 3, H, W) in [0, 1], loss history.

    ``first_preview`` is the number of seconds from the start to the end of the quick stage (None without one).
    """

    settings: Settings
    options: dict[str, Any]
    image: Tensor
    history: list[dict[str, Any]]
    seconds: float
    key: str
    cached: bool = False
    stopped: bool = False
    first_preview: float | None = None

    @property
    def caption(self) -> str:
        how = "from the cache" if self.cached else f"{self.seconds:.1f} s"
        return f"{describe_settings(self.settings)} · {'stopped early · ' if self.stopped else ''}{how}"


@dataclass
class StagedRun:
    """What ``run_stages`` returns: the last stage's image and history, whether Stop ended it, and timings."""

    image: Tensor
    history: list[dict[str, Any]]
    stopped: bool
    seconds: float
    first_preview: float | None


def run_stages(engine: Callable[..., Any], content_image: Tensor, style_image: Tensor, options: Mapping[str, Any], *,
               stop: threading.Event, on_step: StepHook, preview_size: int = 128, preview_steps: int = 15,
               on_stage: StageHook | None = None, extras: Mapping[str, Any] | None = None) -> StagedRun:
    """Call ``engine`` once at ``preview_size`` (when the result is larger) and once with ``options``.

    Args:
        engine: called as ``engine(content_image, style_image, **options, callback=..., callback_every=1, **extras)``;
            the callback comes after every step, so Stop takes effect within one step.
        content_image, style_image: (1, 3, H, W) in [0, 1].
        options: engine options from ``settings_to_options``.
        stop: when set, the callback returns False, the engine returns its best image so far and no stage follows.
        on_step: called as ``on_step(step, image, record, stage)`` with the step counted over both stages.
        on_stage: called as ``on_stage(stage, image, history)`` when a stage ends.
        extras: further keyword arguments for every call (extractor, device, progress).

    Returns:
        A ``StagedRun``. Built in notebooks/05_style_weights_playground.ipynb.
    """
    start = time.perf_counter()
    quick = preview_options(options, preview_size, preview_steps)
    stages = [("quick preview", quick), ("full size", dict(options))] if quick else [("full size", dict(options))]
    offset, first_preview, result = 0, None, None
    for label, stage in stages:
        def callback(step: int, image: Tensor, record: Mapping[str, Any], offset: int = offset, label: str = label) -> bool:
            on_step(offset + step, image, record, label)
            return not stop.is_set()

        result = engine(content_image, style_image, **stage, callback=callback, callback_every=1, **(extras or {}))
        offset += stage["steps"]
        if label == "quick preview":
            first_preview = time.perf_counter() - start
        if on_stage is not None:
            on_stage(label, result.image, result.history)
        if stop.is_set():
            break
    return StagedRun(image=result.image.detach(), history=[dict(r) for r in result.history], stopped=stop.is_set(),
                     seconds=time.perf_counter() - start, first_preview=first_preview)
