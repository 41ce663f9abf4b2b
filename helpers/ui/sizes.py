"""Which stages a playground run takes, and pictures too small for the layers in use, said in the playground's terms.

VGG19 halves the resolution before each block, so a layer of block b sees a picture 2^(b-1) times smaller;
``helpers.vgg.min_image_size`` gives the smallest shorter side it accepts. The engine enlarges small pictures
to the result size, so it would run a 1-pixel upload; the playground refuses pictures that are already
smaller than the layers in use can see, and warns when it enlarges a picture many times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..vgg import TORCHVISION_INDEX, min_image_size
from .settings import CONTENT_LAYER, STYLE_LAYERS, preview_options

__all__ = ["FULL", "QUICK", "enlargement_note", "layers_in_use", "picture_problem", "plan_stages", "stage_shape"]

QUICK, FULL = "quick preview", "full size"
_ENLARGED = 4.0


def stage_shape(shape: Sequence[int], size: int) -> tuple[int, int]:
    """Height and width of a (…, H, W) picture whose longest side the engine scales to ``size`` (up or down)."""
    h, w = shape[-2:]
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def layers_in_use(style_layers: Mapping[str, float] | Sequence[str]) -> list[str]:
    """The content layer and the style layers that are on, deepest first."""
    return sorted({CONTENT_LAYER, *style_layers}, key=TORCHVISION_INDEX.__getitem__, reverse=True)


def _too_deep(shorter: int, layers: Sequence[str]) -> list[str]:
    return [name for name in layers if min_image_size(name) > shorter]


def _advice(deep: list[str], fix: str) -> str:
    if CONTENT_LAYER in deep:
        return f"{fix} (the content layer {CONTENT_LAYER} is always on)"
    style = [name for name in deep if name in STYLE_LAYERS]
    return f"turn off {' and '.join(style)} (the checkbox beside the slider), or {fix}"


def picture_problem(
    name: str, shape: Sequence[int], style_layers: Mapping[str, float] | Sequence[str], size: int | None = None
) -> str | None:
    """Why ``name`` cannot run with these layers (at ``size``, or as it is when None), or None when it can.

    Args:
        name: what the message calls the picture, e.g. "the content picture me.png".
        shape: its (…, H, W) shape as decoded.
        style_layers: the style layers that are on.
        size: the result size it is scaled to; None checks the picture as it is.
    """
    h, w = shape[-2:]
    layers = layers_in_use(style_layers)
    if size is None:
        deep = _too_deep(min(h, w), layers)
        if not deep:
            return None
        need = min_image_size(deep[0])
        return (
            f"{name} is {w}×{h} px, smaller than {deep[0]} can see (it needs {need} px on the shorter side): "
            + _advice(deep, "use a larger picture")
        )
    sh, sw = stage_shape(shape, size)
    deep = _too_deep(min(sh, sw), layers)
    if not deep:
        return None
    need = min_image_size(deep[0])
    return (
        f"at {size} px {name} ({w}×{h} px) becomes {sw}×{sh} px, and {deep[0]} needs {need} px on the shorter "
        f"side: " + _advice(deep, "pick a larger size or a less elongated picture")
    )


def enlargement_note(name: str, shape: Sequence[int], size: int) -> str | None:
    """A warning when ``size`` enlarges the picture more than four times (the result turns out blurry)."""
    h, w = shape[-2:]
    factor = size / max(h, w)
    if factor <= _ENLARGED:
        return None
    return f"{name} is {w}×{h} px: at {size} px it is enlarged {factor:.0f}×, so expect a blurry result"


def plan_stages(
    options: Mapping[str, Any], shapes: Mapping[str, Sequence[int]], preview_size: int, preview_steps: int
) -> list[tuple[str, dict[str, Any]]]:
    """The (label, options) of each stage: a quick one at ``preview_size`` when it helps and fits, then the full size.

    Args:
        options: engine options from ``settings_to_options``.
        shapes: picture name -> its decoded shape, for the content and the style picture.
        preview_size, preview_steps: the quick stage's size and steps.

    Returns:
        One or two stages (one with ``init="fast"``, whose network picture is the preview). A picture too small
        for the layers raises ValueError with a message in the playground's terms; a quick stage too small for
        them is left out.
    """
    problems = [picture_problem(name, shape, options["style_layers"]) for name, shape in shapes.items()]
    problems += [
        picture_problem(name, shape, options["style_layers"], options["size"]) for name, shape in shapes.items()
    ]
    problems = [p for p in problems if p is not None]
    if problems:
        raise ValueError(problems[0])
    stages = [(FULL, dict(options))]
    if options["init"] == "fast":  # the real-time network's picture is the instant preview
        return stages
    quick = preview_options(options, preview_size, preview_steps)
    fits = quick is not None and not any(
        picture_problem(name, shape, options["style_layers"], quick["size"]) for name, shape in shapes.items()
    )
    return [(QUICK, quick), *stages] if fits else stages
