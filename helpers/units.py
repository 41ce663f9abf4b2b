"""Loss weights from one unit system in another: the paper's sums, the source article's, raw means, balanced units.

Each unit system writes the same objective with other constants in front of its terms. With the targets'
scales measured once (``term_scales``), the weights of any of them convert exactly into balanced units, in
which α/β = 1 and equal layer weights mean terms of equal size; the conversion depends on the photo, the
painting, the image size and the network, which is why numbers like the paper's α/β = 10⁻³ cannot be
copied between programs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .losses import gram_matrix

__all__ = ["TermScales", "term_scales", "to_balanced", "conversion_rows", "CONVENTIONS", "ARTICLE_WEIGHTS"]

CONVENTIONS = ("paper", "article", "raw", "balanced")
ARTICLE_WEIGHTS = {"relu1_1": 1.0, "relu2_1": 0.75, "relu3_1": 0.2, "relu4_1": 0.2, "relu5_1": 0.2}
_PAPER_WEIGHTS = {name: 0.2 for name in ARTICLE_WEIGHTS}


@dataclass(frozen=True)
class TermScales:
    """The sizes that convert weights between unit systems, for one photo, painting, size and network.

    Attributes:
        content: mean square of the content target P at the content layer.
        content_numbers: N·M of the content layer (channels × positions).
        style: layer -> mean square of the style target A = F Fᵀ / M.
        channels, positions: layer -> N_l and M_l of the generated (content-sized) image.
    """

    content: float
    content_numbers: int
    style: dict[str, float]
    channels: dict[str, int]
    positions: dict[str, int]


@torch.no_grad()
def term_scales(
    extractor,
    content_image: Tensor,
    style_image: Tensor,
    content_layer: str = "relu4_2",
    style_layers: Sequence[str] = tuple(ARTICLE_WEIGHTS),
) -> TermScales:
    """Measure the target scales of one photo and one painting through ``extractor``.

    Args:
        extractor: a ``VGGFeatures``.
        content_image, style_image: (1, 3, H, W) images in [0, 1], at the sizes the run will use.
        content_layer, style_layers: the layers of the objective.

    Returns:
        A ``TermScales``. Built in notebooks/04_style_transfer.ipynb.
    """
    photo = extractor(content_image, [content_layer, *style_layers])
    painting = extractor(style_image, list(style_layers))
    target = photo[content_layer].double()
    return TermScales(
        content=float(target.pow(2).mean()),
        content_numbers=int(target[0].numel()),
        style={n: float(gram_matrix(painting[n].double()).pow(2).mean()) for n in style_layers},
        channels={n: int(photo[n].shape[1]) for n in style_layers},
        positions={n: int(photo[n].shape[2] * photo[n].shape[3]) for n in style_layers},
    )


def _coefficients(
    scales: TermScales, convention: str, content_weight: float, style_weight: float, layer_weights: Mapping[str, float]
) -> tuple[float, dict[str, float]]:
    """The factor in front of balanced content and of each balanced style layer, in ``convention``."""
    if convention == "paper":  # α ½Σ(F-P)² + β Σ w_l E_l, E_l = Σ(G-A)² / (4 N² M²) with raw sums
        return (
            content_weight * scales.content_numbers * scales.content / 2,
            {n: style_weight * w * scales.style[n] / 4 for n, w in layer_weights.items()},
        )
    if convention == "article":  # cw mean((F-P)²) + sw Σ w_l mean((G_raw - A_raw)²) / (N M)
        return (
            content_weight * scales.content,
            {
                n: style_weight * w * scales.positions[n] / scales.channels[n] * scales.style[n]
                for n, w in layer_weights.items()
            },
        )
    if convention == "raw":  # cw mean((F-P)²) + sw Σ w_l mean((G-A)²), this project's units="raw"
        return content_weight * scales.content, {
            n: style_weight * w * scales.style[n] for n, w in layer_weights.items()
        }
    if convention == "balanced":
        total = sum(layer_weights.values())
        return content_weight, {n: style_weight * w / total for n, w in layer_weights.items()}
    raise ValueError(f"convention must be one of {', '.join(map(repr, CONVENTIONS))}, got {convention!r}")


def to_balanced(
    scales: TermScales, convention: str, content_weight: float, style_weight: float, layer_weights: Mapping[str, float]
) -> dict:
    """The same objective's weights in balanced units (up to one overall factor, which moves no minimum).

    Args:
        scales: from ``term_scales``.
        convention: "paper", "article", "raw" or "balanced": how the given weights are meant.
        content_weight, style_weight: α and β in that convention.
        layer_weights: style layer -> w_l in that convention.

    Returns:
        ``{"content_weight": α', "style_weight": 1.0, "style_layers": {layer: share}, "ratio": α'/β'}``, the
        shares summing to 1: ready for ``stylize(..., units="balanced")``.
    """
    content, layers = _coefficients(scales, convention, content_weight, style_weight, layer_weights)
    style = sum(layers.values())
    return {
        "content_weight": content / style,
        "style_weight": 1.0,
        "style_layers": {n: c / style for n, c in layers.items()},
        "ratio": content / style,
    }


def conversion_rows(
    scales: TermScales,
    paper: Sequence[float] = (1e-3, 1e-4),
    article: tuple[float, float] = (1.0, 1e6),
    balanced: Sequence[float] = (1.0, 0.1),
) -> list[list]:
    """One table: the paper's α/β, the source article's weights and balanced units, each in balanced units.

    Returns:
        Rows of [setting, α/β as written, α/β in balanced units, relu1_1 … relu5_1 shares in balanced units].
    """
    settings = [(f"paper, α/β = {r:g}, w_l = 1/5", "paper", r, 1.0, _PAPER_WEIGHTS, r) for r in paper]
    cw, sw = article
    settings.append(
        (f"source article, α = {cw:g}, β = {sw:g}, w = 1/0.75/0.2/0.2/0.2", "article", cw, sw, ARTICLE_WEIGHTS, cw / sw)
    )
    settings += [(f"balanced units, α/β = {r:g}, equal w_l", "balanced", r, 1.0, _PAPER_WEIGHTS, r) for r in balanced]
    rows = []
    for label, convention, alpha, beta, weights, written in settings:
        converted = to_balanced(scales, convention, alpha, beta, weights)
        rows.append(
            [
                label,
                f"{written:.3g}",
                f"{converted['ratio']:.3g}",
                *(f"{share:.3f}" for share in converted["style_layers"].values()),
            ]
        )
    return rows
