"""The images of each size a run optimises at, coarse to fine, and the image it starts from.

A pyramid of ``levels`` sizes halves the longest side from one level to the next; the coarse levels are cheap,
so most of the large-scale structure is settled before the full-size level starts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .images import as_image, resize_image
from .vgg import check_image_size, min_image_size

__all__ = ["Level", "level_sizes", "plan_levels", "resize_to", "carry_over", "start_image"]

Level = tuple[Tensor | None, list[Tensor]]
"""One pyramid level: the content image (None without one) and the style images, at that level's size."""


def level_sizes(size: int, levels: int, shortest_ratio: float, need: int) -> list[int]:
    """Longest sides of the pyramid, coarse to fine, without coarse levels whose shorter side is under 2 ``need``."""
    sizes = [round(size / 2**k) for k in range(levels)][::-1]
    return [s for s in sizes[:-1] if s * shortest_ratio >= 2 * need] + [size]


def plan_levels(
    content: Tensor | None, styles: list[Tensor], size: int, style_scale: float, levels: int, deepest: str
) -> list[Level]:
    """Content and style images for each pyramid level, coarse to fine, checked against the deepest layer.

    Args:
        content: (1, 3, H, W) in [0, 1], or None for a style-only run.
        styles: (1, 3, H', W') style images.
        size: the longest side of the result.
        style_scale: each style image's longest side as a multiple of the level's size.
        levels: how many sizes at most.
        deepest: the deepest layer used; a level too small for it is dropped, the last one raises.

    Returns:
        One ``Level`` per size, the last at ``size``.
    """
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
            check_image_size(*level_content.shape[-2:], deepest, f"the content image at size={size}")
        for index, style in enumerate(level_styles):
            what = "the style image" if len(styles) == 1 else f"style image {index}"
            check_image_size(*style.shape[-2:], deepest, f"{what} at size={size}, style_scale={style_scale:g}")
        plan.append((level_content, level_styles))
    return plan


def carry_over(
    image: Tensor, shape, coarse_content: Tensor | None = None, fine_content: Tensor | None = None
) -> Tensor:
    """A coarser result at a finer size, in [0, 1], to start the finer optimisation from.

    Given both contents, the photo at the finer size plus the upsampled change the coarse run made, so the
    photo's own fine detail is not blurred away; otherwise the coarse result upsampled.
    """
    if coarse_content is None or fine_content is None:
        return resize_to(image, shape).clamp(0, 1)
    return (fine_content + resize_to(image - coarse_content, shape)).clamp(0, 1)


def resize_to(image: Tensor, shape) -> Tensor:
    """``image`` resized bicubically to the height and width of ``shape`` (values may overshoot [0, 1])."""
    return F.interpolate(image, size=tuple(shape[-2:]), mode="bicubic", align_corners=False)


def start_image(init: str | Tensor, content: Tensor | None, style: Tensor | None, shape, seed: int) -> Tensor:
    """The first level's starting image in [0, 1], on the CPU: a resized image, uniform noise from ``seed``, or
    ("fast") the real-time network's stylisation of the content (notebook 06)."""
    if isinstance(init, Tensor):
        start = as_image(init, "init")
    elif init == "noise":
        return torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed))
    elif init == "fast":
        if content is None or style is None:
            raise ValueError("init='fast' needs a content and a style image; this run lacks one")
        from .realtime import fast_stylize

        start = fast_stylize(content, style)
    else:
        start = content if init == "content" else style
        if start is None:
            raise ValueError(f"init={init!r} needs a {init} image; this run has none")
    return resize_to(start.detach().float().cpu(), shape).clamp(0, 1)
