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
    "STYLE_LAYERS",
    "CONTENT_LAYER",
    "CONTENT_WEIGHT",
    "RATIO_RANGE",
    "TV_WEIGHTS",
    "OPTIMIZERS",
    "INITS",
    "Settings",
    "settings_to_options",
    "preview_options",
    "describe_settings",
    "settings_metadata",
]

STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"
CONTENT_WEIGHT = 1.0
RATIO_RANGE = (1e0, 1e8)
TV_WEIGHTS = (0.0, 1e5, 1e6, 1e7, 1e8, 1e9)
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style")
MIN_SIZE = 32


def _default_layer_weights() -> dict[str, float]:
    return {name: 0.2 for name in STYLE_LAYERS}


@dataclass
class Settings:
    """Everything a learner sets in the playground; ``ratio`` is the content/style ratio α/β.

    The engine's losses are means (content: of squared feature differences; style: of squared
    differences of Gram matrices divided by H·W), so the ratio that balances the two terms is far
    from the α/β ≈ 1e-3 of Gatys et al., whose content loss is a sum: about 1e4-1e6 here.
    ``RATIO_RANGE`` and ``TV_WEIGHTS`` span what changes the picture in these units.

    Built in notebooks/05_style_weights_playground.ipynb.
    """

    content: str = "chelsea.png"
    style: str = "starry_night.jpg"
    layer_weights: dict[str, float] = field(default_factory=_default_layer_weights)
    ratio: float = 1e4
    tv_weight: float = 0.0
    size: int = 256
    steps: int = 100
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


def _check(settings: Settings) -> None:
    unknown = sorted(set(settings.layer_weights) - set(STYLE_LAYERS))
    if unknown:
        raise ValueError(f"unknown style layer(s) {unknown}; the playground uses {list(STYLE_LAYERS)}")
    weights = list(settings.layer_weights.values())
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"style layer weights must be finite and non-negative, got {settings.layer_weights}")
    if not any(w > 0 for w in weights):
        raise ValueError("every style layer weight is 0: give at least one layer a weight above 0")
    if not (math.isfinite(settings.ratio) and settings.ratio > 0):
        raise ValueError(f"the content/style ratio must be a positive number, got {settings.ratio}")
    if not (math.isfinite(settings.tv_weight) and settings.tv_weight >= 0):
        raise ValueError(f"the TV weight must be a non-negative number, got {settings.tv_weight}")
    if int(settings.size) != settings.size or settings.size < MIN_SIZE:
        raise ValueError(f"the result size must be a whole number of at least {MIN_SIZE} px, got {settings.size}")
    if int(settings.steps) != settings.steps or settings.steps < 1:
        raise ValueError(f"steps must be a positive whole number, got {settings.steps}")
    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {settings.optimizer!r}")
    if settings.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {settings.init!r}")


def settings_to_options(settings: Settings) -> dict[str, Any]:
    """Turn playground settings into keyword arguments of ``helpers.stylize``.

    Args:
        settings: the playground's settings; layers with weight 0 are left out of ``style_layers``.

    Returns:
        dict with content_layers, style_layers, content_weight, style_weight (= content_weight / ratio),
        tv_weight, init, optimizer, steps, size and seed. Invalid settings raise ValueError.

    Built in notebooks/05_style_weights_playground.ipynb.
    """
    _check(settings)
    return {
        "content_layers": {CONTENT_LAYER: 1.0},
        "style_layers": {name: float(settings.layer_weights[name]) for name in STYLE_LAYERS
                         if settings.layer_weights.get(name, 0) > 0},
        "content_weight": CONTENT_WEIGHT,
        "style_weight": CONTENT_WEIGHT / float(settings.ratio),
        "tv_weight": float(settings.tv_weight),
        "init": settings.init,
        "optimizer": settings.optimizer,
        "steps": int(settings.steps),
        "size": int(settings.size),
        "seed": int(settings.seed),
    }


def preview_options(options: Mapping[str, Any], size: int, steps: int) -> dict[str, Any] | None:
    """Options of the quick first stage (at most ``size`` px and ``steps`` steps), or None when not needed.

    The quick stage is only worth running when the requested result is larger than ``size``.
    """
    if options["size"] <= size:
        return None
    return {**options, "size": size, "steps": min(steps, options["steps"])}


def describe_settings(settings: Settings) -> str:
    """One short line naming the images and the settings, for gallery captions."""
    weights = "/".join(f"{settings.layer_weights.get(name, 0):g}" for name in STYLE_LAYERS)
    return (
        f"{settings.content} + {settings.style} · α/β {settings.ratio:.0e} · layers {weights} · "
        f"TV {settings.tv_weight:g} · {settings.size} px · {settings.steps} {settings.optimizer} · "
        f"init {settings.init} · seed {settings.seed}"
    )


def settings_metadata(settings: Settings, options: Mapping[str, Any]) -> dict[str, str]:
    """PNG text metadata that records how a result was made (read it back with ``json.loads``)."""
    return {
        "Software": "nst-helpers playground (helpers.ui)",
        "Description": describe_settings(settings),
        "nst:settings": json.dumps(settings.to_dict(), sort_keys=True),
        "nst:options": json.dumps(dict(options), sort_keys=True),
    }

