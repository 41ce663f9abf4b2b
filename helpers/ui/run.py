"""The playground's run: a quick stage at a small size, then the requested size started from its result.

Nothing here imports ipywidgets. ``StepTimer`` measures seconds per step as the run goes, for the estimates
the playground shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from ..images import resize_image
from ..pyramid import carry_over
from .settings import Settings, describe_settings

__all__ = ["RunRecord", "StagedRun", "StepTimer", "format_seconds", "handover", "run_stages"]

StepHook = Callable[[int, Tensor, Mapping[str, Any], str], None]
StageHook = Callable[[str, Tensor, list], None]
Stage = tuple[str, dict[str, Any]]


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


def format_seconds(seconds: float) -> str:
    """A rough duration for people: "8 s", "3 min 20 s", "1 h 5 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@dataclass
class _Pace:
    start: float
    first_step: int
    pixels: int
    now: float
    step: int


class StepTimer:
    """Seconds per step of each stage, from the times at which the callback sees its steps, and estimates.

    The first step a stage reports is the zero of its clock, so the targets' computation is left out.
    """

    def __init__(self) -> None:
        self.stages: dict[str, _Pace] = {}

    def mark(self, stage: str, step: int, pixels: int, now: float) -> None:
        """Note that ``stage`` (``pixels`` per image) reached ``step`` at time ``now`` (seconds)."""
        pace = self.stages.setdefault(stage, _Pace(now, step, pixels, now, step))
        pace.now, pace.step = now, step

    def per_step(self, stage: str) -> float | None:
        """Measured seconds per step of ``stage``, or None before it has taken two steps."""
        pace = self.stages.get(stage)
        if pace is None or pace.step <= pace.first_step:
            return None
        return (pace.now - pace.start) / (pace.step - pace.first_step)

    def per_pixel_step(self, stage: str) -> float | None:
        """Seconds per step and pixel of ``stage``: what scales to other sizes (the work grows with the pixels)."""
        per_step = self.per_step(stage)
        return None if per_step is None else per_step / self.stages[stage].pixels

    def left(self, stage: str, steps: int) -> float | None:
        """Seconds left for ``stage``, which ends at step ``steps``, at its measured pace."""
        per_step = self.per_step(stage)
        return None if per_step is None else per_step * max(0, steps - self.stages[stage].step)


def handover(quick_image: Tensor, content_image: Tensor, size: int, quick_size: int, init: str) -> Tensor:
    """The full-size stage's start: the quick result enlarged to ``size``, so the preview goes on from it.

    With ``init="content"`` the enlarged change that the quick stage made is added to the photo at full size
    (as the engine's own pyramid does), so the photo's fine detail is not blurred away.

    Args:
        quick_image: (1, 3, h, w) quick result in [0, 1].
        content_image: (1, 3, H, W) the content picture as the engine gets it.
        size, quick_size: the longest sides of the full and the quick stage.
        init: the settings' start ("content", "noise" or "style").

    Returns:
        (1, 3, H', W') image in [0, 1], the full stage's size.
    """
    photo = resize_image(content_image, size, upscale=True).to(quick_image.device)
    if init != "content":
        return carry_over(quick_image, photo.shape)
    return carry_over(
        quick_image, photo.shape, resize_image(content_image, quick_size, upscale=True).to(photo.device), photo
    )


def run_stages(
    engine: Callable[..., Any],
    content_image: Tensor,
    style_image: Tensor,
    stages: Sequence[Stage],
    *,
    stop: threading.Event,
    on_step: StepHook,
    on_stage: StageHook | None = None,
    extras: Mapping[str, Any] | None = None,
) -> StagedRun:
    """Call ``engine`` once per stage; each stage after the first starts from ``handover`` of the one before.

    Args:
        engine: called as ``engine(content_image, style_image, **options, callback=..., callback_every=1, **extras)``;
            the callback comes after every step, so Stop takes effect within one step (L-BFGS: line search).
        content_image, style_image: (1, 3, H, W) in [0, 1].
        stages: (label, options) pairs from ``sizes.plan_stages``.
        stop: when set, the callback returns False, the engine returns its best image so far and no stage follows.
        on_step: called as ``on_step(step, image, record, stage)`` with the step counted over all stages.
        on_stage: called as ``on_stage(stage, image, history)`` when a stage ends.
        extras: further keyword arguments for every call (extractor, device, progress).

    Returns:
        A ``StagedRun``. Built in notebooks/05_style_weights_playground.ipynb.
    """
    start = time.perf_counter()
    offset, first_preview, result, previous = 0, None, None, None
    for index, (label, stage) in enumerate(stages):

        def callback(
            step: int, image: Tensor, record: Mapping[str, Any], offset: int = offset, label: str = label
        ) -> bool:
            on_step(offset + step, image, record, label)
            return not stop.is_set()

        if previous is not None:
            stage = {
                **stage,
                "init": handover(result.image, content_image, stage["size"], previous["size"], stage["init"]),
            }
        result = engine(content_image, style_image, **stage, callback=callback, callback_every=1, **(extras or {}))
        offset, previous = offset + stage["steps"], stage
        if index < len(stages) - 1:
            first_preview = time.perf_counter() - start
        if on_stage is not None:
            on_stage(label, result.image, result.history)
        if stop.is_set():
            break
    return StagedRun(
        image=result.image.detach(),
        history=[dict(r) for r in result.history],
        stopped=stop.is_set(),
        seconds=time.perf_counter() - start,
        first_preview=first_preview,
    )
