"""Layer-by-layer facts about VGG19: output shapes, receptive fields and what a Gram matrix costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .vgg import LAYER_NAMES, TORCHVISION_INDEX, check_image_size

__all__ = ["LayerInfo", "GramCost", "layer_table", "receptive_field", "gram_cost", "markdown_table"]

_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


@dataclass(frozen=True)
class LayerInfo:
    """One VGG19 layer for a given input size: output shape and receptive field.

    ``receptive_field`` is the side, in input pixels, of the square that one output position
    can see; ``stride`` is the distance, in input pixels, between neighbouring output positions.
    """

    name: str
    channels: int
    height: int
    width: int
    receptive_field: int
    stride: int

    @property
    def positions(self) -> int:
        """Number of spatial positions M = height * width."""
        return self.height * self.width


@dataclass(frozen=True)
class GramCost:
    """Work and memory of one Gram matrix, counted in multiply-adds and stored numbers."""

    multiply_adds: int
    gram_numbers: int
    feature_numbers: int


def layer_table(height: int, width: int | None = None, deepest: str = "pool5") -> list[LayerInfo]:
    """Output shape and receptive field of every VGG19 layer up to ``deepest``.

    Args:
        height: input image height in pixels.
        width: input image width in pixels; None means a square image.
        deepest: the last layer listed, a name from ``LAYER_NAMES``.

    Returns:
        One ``LayerInfo`` per layer, in network order (3x3 convolutions with padding 1 keep
        the size; each 2x2 pooling halves it, rounding down).

    Built in notebooks/02_vgg_features.ipynb.
    """
    width = height if width is None else width
    if min(height, width) < 1:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    check_image_size(height, width, deepest)
    rows: list[LayerInfo] = []
    channels, field, stride = 3, 1, 1
    for name in LAYER_NAMES[: TORCHVISION_INDEX[deepest] + 1]:
        if name.startswith("conv"):
            channels, field = _CHANNELS[int(name[4])], field + 2 * stride
        elif name.startswith("pool"):
            height, width, field, stride = height // 2, width // 2, field + stride, stride * 2
        rows.append(LayerInfo(name, channels, height, width, field, stride))
    return rows


def receptive_field(layer: str) -> int:
    """Side in input pixels of the square one position of ``layer`` sees (e.g. 3 for "conv1_1").

    Built in notebooks/02_vgg_features.ipynb.
    """
    return layer_table(2**5, deepest=layer)[-1].receptive_field


def gram_cost(channels: int, positions: int) -> GramCost:
    """Cost of G = F Fᵀ for a (channels x positions) feature matrix F.

    Args:
        channels: C, the number of feature channels.
        positions: M = H * W, the number of spatial positions.

    Returns:
        ``GramCost``: C²M multiply-adds (O(C²HW) time), C² numbers for G, CM for F.

    Built in notebooks/01_gram_matrix.ipynb.
    """
    if channels < 1 or positions < 1:
        raise ValueError(f"channels and positions must be positive, got {channels} and {positions}")
    return GramCost(channels * channels * positions, channels * channels, channels * positions)


def markdown_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Render rows as a Markdown table (for ``IPython.display.Markdown``); numbers right-aligned.

    Args:
        rows: one sequence of cells per row, each as long as ``headers``.
        headers: the column titles.

    Returns:
        The table as a string.
    """
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"every row needs {len(headers)} cells to match the headers")
    numeric = [bool(rows) and all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    lines = ["| " + " | ".join(map(str, headers)) + " |"]
    lines.append("|" + "|".join("---:" if right else "---" for right in numeric) + "|")
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)
