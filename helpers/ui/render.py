"""Pictures for the playground's widgets: PNG bytes of an image and an SVG of the loss curves.

Neither uses pyplot, and both take milliseconds, so the run thread can redraw them while it optimises.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from ..images import resize_image, to_pil

__all__ = ["LOSS_NAMES", "loss_curves", "loss_plot_svg", "png_bytes"]

LOSS_NAMES = ("total", "content", "style", "tv")
_LINE_COLORS = {"total": "#222222", "content": "#1f77b4", "style": "#d62728", "tv": "#2ca02c"}


def png_bytes(image: Tensor, max_size: int | None = None, upscale: bool = False) -> bytes:
    """PNG bytes of a (1, 3, H, W) image in [0, 1], scaled down (with ``upscale`` also up) to ``max_size`` px."""
    image = image.detach().float().cpu()
    if max_size is not None:
        image = resize_image(image, max_size, upscale=upscale)
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="png")
    return buffer.getvalue()


def loss_curves(
    history: Sequence[Mapping[str, Any]], weights: Mapping[str, float] | None = None
) -> dict[str, list[tuple[float, float]]]:
    """(step, weight × value) points of each loss in ``history``, leaving out missing and non-positive values.

    ``weights`` maps loss names to the factor they enter the total with (1 when absent).
    """
    curves, weights = {}, weights or {}
    for name in LOSS_NAMES:
        factor = float(weights.get(name, 1.0))
        points = [
            (float(r["step"]), factor * float(r[name])) for r in history if _positive(factor * _number(r.get(name)))
        ]
        if points:
            curves[name] = points
    return curves


def loss_plot_svg(
    history: Sequence[Mapping[str, Any]],
    title: str = "",
    width: int = 400,
    height: int = 200,
    weights: Mapping[str, float] | None = None,
) -> str:
    """An SVG of the loss curves in ``history`` against step, on a log scale with one grid line per decade.

    Args:
        history: engine records with "step" and some of "total", "content", "style", "tv".
        title: drawn above the plot.
        weights: factors for the terms (content_weight, style_weight, tv_weight), so the curves add up to the total.

    Returns:
        The SVG markup (an empty frame with a note when there is nothing to draw yet).
    """
    left, right, top, bottom = 44, 96, 18, 26
    frame = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="10"><rect width="{width}" height="{height}" fill="white"/>'
    )
    parts = [frame, f'<text x="{left}" y="12">{html.escape(title)}</text>']
    curves = loss_curves(history, weights)
    if not curves:
        parts.append(f'<text x="{left}" y="{height // 2}" fill="#888">no loss values yet</text></svg>')
        return "".join(parts)
    points = [p for c in curves.values() for p in c]
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = math.floor(math.log10(min(p[1] for p in points))), math.ceil(math.log10(max(p[1] for p in points)))
    x1, y1 = x1 if x1 > x0 else x0 + 1, y1 if y1 > y0 else y0 + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + (y1 - math.log10(y)) / (y1 - y0) * plot_h

    for decade in range(y0, y1 + 1):
        y = sy(10.0**decade)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">1e{decade}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 6}">step {x0:g}</text>'
        f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end">{x1:g}</text>'
    )
    for row, (name, curve) in enumerate(curves.items()):
        color = _LINE_COLORS[name]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in curve)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{top + 12 * row + 8}" fill="{color}">{name} {curve[-1][1]:.1e}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0
