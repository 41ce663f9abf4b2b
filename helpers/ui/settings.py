"""The playground's settings and the pure functions that turn them into engine options.

Nothing here imports ipywidgets: the widgets in ``helpers.ui`` only read and write a ``Settings``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

__all__ = [
    "CONTENT_LAYER",
    "INITS",
    "LAYER_WEIGHT_RANGE",
    "MAX_STEPS",
    "OPTIMIZERS",
    "RATIO_RANGE",
    "SIZES",
    "STYLE_LAYERS",
    "STYLE_WEIGHT",
    "TV_RANGE",
    "Settings",
    "describe_settings",
    "preview_options",
    "settings_metadata",
    "settings_to_options",
]

STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
STYLE_WEIGHT = 1.0
RATIO_RANGE = (1e-3, 1e3)
LAYER_WEIGHT_RANGE = (1e-2, 1e2)
TV_RANGE = (1e-4, 1.0)
SIZES = (64, 96, 128, 192, 256, 384, 512, 768, 1024)
MIN_SIZE = 32
MAX_STEPS = 5000
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style", "fast")


def _default_layer_weights() -> dict[str, float]:
    return {name: 1.0 for name in STYLE_LAYERS}


@dataclass
class Settings:
    """Everything a learner sets in the playground, in the engine's balanced units (notebook 04).

    Every term of the loss is divided by its own target's mean square, so the numbers mean the same for any
    image, size or layer:

    - ``ratio`` is α/β, the content weight over the style weight. At 1 the two terms count equally and end
      about balanced; the default 0.1 leans to the painting. β stays 1 and α = ``ratio``.
    - ``layer_weights`` are the relative weights w_l of the style layers: the style term is their weighted
      mean, so only their proportions matter, and equal weights give every layer the same say. 0 leaves a
      layer out (its checkbox off).
    - ``tv_weight`` is the smoothness weight, next to β = 1: the photo's own roughness scores 1, and 0.01
      (the default) removes pixel-scale speckle; 0 turns it off.
    - ``seed`` only matters with ``init="noise"``; any other start ignores it.

    Built in notebooks/05_style_weights_playground.ipynb.
    """

    content: str = "chelsea.png"
    style: str = "starry_night.jpg"
    layer_weights: dict[str, float] = field(default_factory=_default_layer_weights)
    ratio: float = 0.1
    tv_weight: float = 0.01
    size: int = 256
    steps: int = 150
    optimizer: str = "lbfgs"
    init: str = "content"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (floats, ints and strings only)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from ``to_dict`` output; unknown keys raise ValueError."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known: {sorted(names)}")
        return cls(**{key: dict(value) if key == "layer_weights" else value for key, value in values.items()})

    def updated(self, **changes: Any) -> Settings:
        """A copy with some fields changed (the layer weights are copied too)."""
        changes["layer_weights"] = dict(changes.get("layer_weights", self.layer_weights))
        return replace(self, **changes)

    def layers_on(self) -> list[str]:
        """The style layers with a weight above 0, shallow to deep."""
        return [name for name in STYLE_LAYERS if self.layer_weights.get(name, 0) > 0]


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(settings: Settings) -> None:
    unknown = sorted(set(settings.layer_weights) - set(STYLE_LAYERS))
    if unknown:
        raise ValueError(f"unknown style layer(s) {unknown}; the playground uses {list(STYLE_LAYERS)}")
    weights = list(settings.layer_weights.values())
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"style layer weights must be finite and non-negative, got {settings.layer_weights}")
    if not settings.layers_on():
        raise ValueError("every style layer is off: turn at least one layer on")
    if not (math.isfinite(settings.ratio) and settings.ratio > 0):
        raise ValueError(f"the content/style ratio α/β must be a positive number, got {settings.ratio}")
    if not (math.isfinite(settings.tv_weight) and settings.tv_weight >= 0):
        raise ValueError(f"the TV weight must be a non-negative number, got {settings.tv_weight}")
    if not _whole(settings.size) or settings.size < MIN_SIZE:
        raise ValueError(f"the result size must be a whole number of at least {MIN_SIZE} px, got {settings.size}")
    if not _whole(settings.steps) or not 1 <= settings.steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {settings.steps}")
    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {settings.optimizer!r}")
    if settings.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {settings.init!r}")
    if not _whole(settings.seed) or settings.seed < 0:
        raise ValueError(f"the seed must be a non-negative whole number, got {settings.seed!r}")


def settings_to_options(settings: Settings) -> dict[str, Any]:
    """Turn playground settings into keyword arguments of ``helpers.stylize``, in balanced units.

    Args:
        settings: the playground's settings; layers with weight 0 are left out of ``style_layers``.

    Returns:
        dict with content_layers, style_layers (w_l of the layers that are on), content_weight (= ratio),
        style_weight (1), tv_weight, units ("balanced"), init, optimizer, steps, size and seed (0 unless
        init is "noise", the only start that reads it). Invalid settings raise ValueError.

    Built in notebooks/05_style_weights_playground.ipynb.
    """
    _check(settings)
    return {
        "content_layers": {CONTENT_LAYER: 1.0},
        "style_layers": {name: float(settings.layer_weights[name]) for name in settings.layers_on()},
        "content_weight": float(settings.ratio) * STYLE_WEIGHT,
        "style_weight": STYLE_WEIGHT,
        "tv_weight": float(settings.tv_weight),
        "units": "balanced",
        "init": settings.init,
        "optimizer": settings.optimizer,
        "steps": int(settings.steps),
        "size": int(settings.size),
        "seed": int(settings.seed) if settings.init == "noise" else 0,
    }


def preview_options(options: Mapping[str, Any], size: int, steps: int) -> dict[str, Any] | None:
    """Options of the quick first stage (at most ``size`` px and ``steps`` steps), or None when not needed.

    The quick stage is only worth running when the requested result is larger than ``size``.
    """
    if options["size"] <= size:
        return None
    return {**options, "size": size, "steps": min(steps, options["steps"])}


def describe_settings(settings: Settings) -> str:
    """One short line naming the images and the settings, for gallery captions (the seed only for noise)."""
    weights = "/".join(f"{w:g}" if (w := settings.layer_weights.get(name, 0)) > 0 else "off" for name in STYLE_LAYERS)
    tv = f"{settings.tv_weight:g}" if settings.tv_weight > 0 else "off"
    seed = f" · seed {settings.seed}" if settings.init == "noise" else ""
    return (
        f"{settings.content} + {settings.style} · α/β {settings.ratio:g} · layers {weights} · TV {tv} · "
        f"{settings.size} px · {settings.steps} {settings.optimizer} · init {settings.init}{seed}"
    )


def settings_metadata(settings: Settings, options: Mapping[str, Any]) -> dict[str, str]:
    """PNG text metadata that records how a result was made (read it back with ``json.loads``)."""
    return {
        "Software": "nst-helpers playground (helpers.ui)",
        "Description": describe_settings(settings),
        "nst:settings": json.dumps(settings.to_dict(), sort_keys=True),
        "nst:options": json.dumps(dict(options), sort_keys=True),
    }
