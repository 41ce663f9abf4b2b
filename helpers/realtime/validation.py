"""Checks at the edge of ``helpers.realtime``: each error names the argument and says what was wrong."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ImageTooSmallError
from ..images import check_image as contract
from .transformer import EMBEDDING_SIZE

__all__ = ["MIN_SIZE", "check_embedding", "check_finite", "check_image", "check_partner", "check_strength"]

MIN_SIZE = 16
"""Smallest height and width accepted (the residual blocks then see maps of 4 × 4 positions)."""


def check_image(image: Tensor, name: str) -> None:
    """Raise unless ``image`` meets the image contract in float32, at least ``MIN_SIZE`` px a side."""
    contract(image, name)
    if image.dtype != torch.float32:
        raise ValueError(f"{name} must be float32 (the image contract), got {image.dtype}")
    if min(image.shape[-2:]) < MIN_SIZE:
        raise ImageTooSmallError(
            f"{name} of {image.shape[-2]}x{image.shape[-1]} px is too small: "
            f"the real-time networks need at least {MIN_SIZE} px on each side"
        )


def check_style_source(style_image: Tensor | None, embedding: Tensor | None) -> None:
    """Exactly one of a painting and an embedding must be given."""
    if (style_image is None) == (embedding is None):
        raise ValueError(
            f"give exactly one of style_image and embedding (got {'both' if embedding is not None else 'neither'})"
        )


def check_partner(tensor: Tensor, content_image: Tensor, name: str) -> None:
    """Raise unless ``tensor`` is on the content image's device with a batch of 1 or the content's."""
    if tensor.device != content_image.device:
        raise ValueError(
            f"{name} is on {tensor.device} but content_image is on {content_image.device}; move one of them"
        )
    if tensor.shape[0] not in (1, content_image.shape[0]):
        raise ValueError(
            f"{name} has a batch of {tensor.shape[0]}; it must be 1 or match content_image's {content_image.shape[0]}"
        )


def check_finite(output: Tensor, what: str) -> Tensor:
    """``output`` in the default memory format; raises FloatingPointError if any value is NaN or infinite."""
    output = output.contiguous()
    if not torch.isfinite(output).all():
        raise FloatingPointError(f"{what} produced NaN or infinite values; check the embedding or weights given")
    return output


def check_embedding(embedding: Tensor, content_image: Tensor) -> None:
    """Raise unless ``embedding`` is a finite float32 (B, 100) tensor that fits ``content_image``."""
    if not isinstance(embedding, Tensor) or embedding.dim() != 2 or embedding.shape[1] != EMBEDDING_SIZE:
        shape = tuple(embedding.shape) if isinstance(embedding, Tensor) else type(embedding).__name__
        raise ValueError(f"embedding must be a tensor of shape (B, {EMBEDDING_SIZE}) from style_embedding, got {shape}")
    if embedding.dtype != torch.float32:
        raise ValueError(f"embedding must be float32, got {embedding.dtype}")
    if not torch.isfinite(embedding).all():
        raise ValueError("embedding contains NaN or infinite values")
    check_partner(embedding, content_image, "embedding")


def check_strength(strength: float) -> float:
    """``strength`` as a float, or ValueError unless it is a number in [0, 1]."""
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise ValueError(f"strength must be a number in [0, 1] (1 = the style, 0 = the photo's own), got {strength!r}")
    return float(strength)
