"""What a run needs before the first step: checked options, the images of each pyramid level, the start image.

These are the engine's internals (``helpers.engine`` is the public face); each raises a clear error early.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import ImageTooSmallError
from .images import resize_image
from .vgg import LAYER_NAMES, TORCHVISION_INDEX, VGGFeatures, load_vgg19, min_image_size

__all__ = ["layer_weights", "cached_extractor", "uses_channels_last", "check_image", "plan_levels", "start_image",
           "resize_to", "failure_hint", "autocast_dtype", "smaller_size"]

_EXTRACTORS: dict[tuple[str, str, str], VGGFeatures] = {}


def layer_weights(spec: str | Sequence[str] | Mapping[str, float], what: str) -> dict[str, float]:
    """Layer name -> weight from a name (weight 1), a list (equal weights summing to 1) or a mapping."""
    if isinstance(spec, str):
        spec = {spec: 1.0}
    elif not isinstance(spec, Mapping):
        spec = {name: 1.0 / max(len(spec), 1) for name in spec}
    unknown = [name for name in spec if name not in TORCHVISION_INDEX]
    if unknown:
        raise ValueError(f"{what}: unknown layer name(s) {unknown}; valid names are: {', '.join(LAYER_NAMES)}")
    return {name: float(weight) for name, weight in spec.items()}


def cached_extractor(extractor: VGGFeatures | None, weights: str, pooling: str, device: torch.device) -> VGGFeatures:
    """``extractor`` itself, or a channels-last VGG19 loaded once per (weights, pooling, device)."""
    if extractor is not None:
        return extractor
    key = (weights, pooling, str(device))
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = load_vgg19(weights, pooling, device).to(memory_format=torch.channels_last)
    return _EXTRACTORS[key]


def uses_channels_last(extractor: VGGFeatures) -> bool:
    """Whether the extractor's weights are stored channels-last, so images should be too."""
    return extractor.layers[2].weight.is_contiguous(memory_format=torch.channels_last)


def check_image(image: Tensor, name: str) -> None:
    """Refuse anything but one finite (1, 3, H, W) image."""
    if not isinstance(image, Tensor) or image.dim() != 4 or image.shape[:2] != (1, 3):
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"{name} must be one image of shape (1, 3, H, W) in [0, 1], got {shape}")
    if not torch.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def level_sizes(size: int, levels: int, shortest_ratio: float, need: int) -> list[int]:
    """Longest sides of the pyramid, coarse to fine, without coarse levels whose shorter side is under 2 ``need``."""
    sizes = [round(size / 2**k) for k in range(levels)][::-1]
    return [s for s in sizes[:-1] if s * shortest_ratio >= 2 * need] + [size]


def check_size(image: Tensor, name: str, layer: str) -> None:
    """Raise ImageTooSmallError if ``image`` is too small for ``layer``."""
    need = min_image_size(layer)
    if min(image.shape[-2:]) < need:
        h, w = image.shape[-2:]
        raise ImageTooSmallError(
            f"{name} is {h}x{w} px at this size, too small for layer {layer}, which needs at least {need}x{need} px; "
            f"use a larger size or drop the deeper layers"
        )


def start_image(init: str | Tensor, content: Tensor | None, style: Tensor | None, shape, seed: int) -> Tensor:
    """The first level's starting image, on the CPU: a resized image, or uniform noise from ``seed``."""
    if isinstance(init, Tensor):
        check_image(init, "init")
        start = init
    elif init in ("content", "style"):
        start = content if init == "content" else style
        if start is None:
            raise ValueError(f"init={init!r} needs a {init} image; this run has none")
    elif init == "noise":
        return torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    else:
        raise ValueError(f"init must be 'content', 'noise', 'style' or an image tensor, got {init!r}")
    return resize_to(start.float().cpu(), shape).clamp(0, 1)


def resize_to(image: Tensor, shape) -> Tensor:
    """``image`` resized bicubically to the height and width of ``shape`` (values may overshoot [0, 1])."""
    return F.interpolate(image, size=shape[-2:], mode="bicubic", align_corners=False)


def failure_hint(optimizer: str, lr: float, weights: tuple[float, float, float], precision: str) -> str:
    """The likely cause of a non-finite loss, for the error message."""
    if optimizer == "adam":
        cause = f"a learning rate too high for Adam (lr={lr:g}), or loss weights too large"
    else:
        cause = "loss weights so large that the loss overflows float32"
    cw, sw, tw = weights
    return (f"Likely cause: {cause} (content_weight={cw:g}, style_weight={sw:g}, tv_weight={tw:g}, "
            f"precision={precision!r}).")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bfloat16 for "bf16" (and for "auto" on a CUDA device that has it), else None for float32."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return torch.bfloat16 if precision == "bf16" else None


def smaller_size(size: int) -> int:
    """A size with about half the pixels, rounded down to a multiple of 16, to suggest after running out of memory."""
    return max(16, int(size / math.sqrt(2)) // 16 * 16)


def plan_levels(content: Tensor | None, styles: list[Tensor], size: int, style_scale: float, levels: int,
                deepest: str) -> list[tuple[Tensor | None, list[Tensor]]]:
    """Content and style images for each pyramid level, coarse to fine, checked against the deepest layer."""
    reference = content if content is not None else styles[0]
    h, w = reference.shape[-2:]
    need, plan = min_image_size(deepest), []
    for s in level_sizes(size, levels, min(h, w) / max(h, w), need):
        level_content = resize_image(content, s, upscale=True) if content is not None else None
        level_styles = [resize_image(style, max(1, round(s * style_scale)), upscale=True) for style in styles]
        small = [img for img in [level_content, *level_styles] if img is not None and min(img.shape[-2:]) < need]
        if small and s != size:
            continue
        if level_content is not None:
            check_size(level_content, "the content image", deepest)
        for index, style in enumerate(level_styles):
            check_size(style, "the style image" if len(styles) == 1 else f"style image {index}", deepest)
        plan.append((level_content, level_styles))
    return plan
