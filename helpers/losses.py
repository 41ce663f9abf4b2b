"""The Gram matrix and the three losses of Gatys et al.: content, style and total variation."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

__all__ = ["gram_matrix", "content_loss", "style_loss", "layer_style_loss", "tv_loss", "balanced_weights"]


def _check_feature_map(features: Tensor, name: str) -> None:
    if not isinstance(features, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(features).__name__}")
    if features.dim() != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(features.shape)}")


def gram_matrix(features: Tensor) -> Tensor:
    """Gram matrix of each feature map in a batch, averaged over positions.

    With F the C x M matrix of one map (M = H*W positions), this returns G = F Fᵀ / M:
    G[i, j] is the mean over positions of the product of channels i and j. Dividing by M
    keeps G the same size whatever the image size; the paper's raw sum is M * G.

    Args:
        features: (B, C, H, W) feature maps, any real values.

    Returns:
        (B, C, C) float tensor, symmetric and positive semi-definite.

    Built in notebooks/01_gram_matrix.ipynb.
    """
    _check_feature_map(features, "features")
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, M)
    return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)


def content_loss(features: Tensor, target: Tensor) -> Tensor:
    """Mean squared difference between two feature maps (Gatys' ½Σ(F-P)² divided by N*M/2).

    Args:
        features: (B, C, H, W) features of the generated image.
        target: features of the content image, same shape (or broadcastable over B).

    Returns:
        Scalar tensor, zero for identical inputs.

    Built in notebooks/04_style_transfer.ipynb.
    """
    _check_feature_map(features, "features")
    return torch.mean((features - target) ** 2)


def layer_style_loss(features: Tensor, target_gram: Tensor) -> Tensor:
    """Mean squared difference between the Gram matrix of ``features`` and ``target_gram``.

    With G = F Fᵀ / M this equals 4 E_l, four times the per-layer style loss E_l of Gatys et al.

    Args:
        features: (B, C, H, W) features of the generated image.
        target_gram: (B, C, C) or (C, C) Gram matrix of the style image at the same layer.

    Returns:
        Scalar tensor, computed in float32 whatever the input dtype.

    Built in notebooks/04_style_transfer.ipynb.
    """
    gram = gram_matrix(features.float())
    return torch.mean((gram - target_gram.float()) ** 2)


def style_loss(
    features: Mapping[str, Tensor],
    target_grams: Mapping[str, Tensor],
    layer_weights: Mapping[str, float] | None = None,
) -> Tensor:
    """Weighted sum of per-layer style losses over the layers in ``target_grams``.

    Args:
        features: layer name -> (B, C, H, W) features of the generated image.
        target_grams: layer name -> Gram matrix of the style image at that layer.
        layer_weights: layer name -> weight; None gives every layer 1 / number of layers (the paper's w_l).

    Returns:
        Scalar tensor.

    Built in notebooks/04_style_transfer.ipynb.
    """
    if not target_grams:
        raise ValueError("target_grams is empty: give at least one style layer")
    missing = sorted(set(target_grams) - set(features))
    if missing:
        raise ValueError(f"features lack the style layers {missing}")
    if layer_weights is None:
        layer_weights = {name: 1.0 / len(target_grams) for name in target_grams}
    total = torch.zeros((), device=next(iter(features.values())).device)
    for name, gram in target_grams.items():
        total = total + float(layer_weights.get(name, 0.0)) * layer_style_loss(features[name], gram)
    return total


def tv_loss(image: Tensor) -> Tensor:
    """Total variation: mean squared difference between neighbouring pixels, down and across.

    Args:
        image: (B, C, H, W) image, any range.

    Returns:
        Scalar tensor, zero for a constant image.

    Built in notebooks/04_style_transfer.ipynb.
    """
    _check_feature_map(image, "image")
    down = image[:, :, 1:, :] - image[:, :, :-1, :]
    across = image[:, :, :, 1:] - image[:, :, :, :-1]
    return torch.mean(down**2) + torch.mean(across**2)


def balanced_weights(targets: Mapping[str, Tensor]) -> dict[str, float]:
    """Layer weights that put every layer's loss on one scale: w_l = 1 / (n mean(T_l²)) for n layers.

    A candidate whose features (or Gram matrices) are near zero has a loss near mean(T_l²) at layer l,
    so each weighted term starts near 1 / n and the terms sum to about 1. Without this, the raw terms
    of different layers differ by orders of magnitude and the deepest or shallowest layer decides alone.

    Args:
        targets: layer name -> target, the content features or the style Gram matrix at that layer.

    Returns:
        layer name -> weight, ready for ``stylize``'s ``content_layers`` or ``style_layers``.

    Built in notebooks/03_layer_reconstructions.ipynb.
    """
    if not targets:
        raise ValueError("targets is empty: give at least one layer's target")
    weights = {}
    for name, target in targets.items():
        energy = target.detach().double().pow(2).mean().item()
        if not (math.isfinite(energy) and energy > 0):
            raise ValueError(f"the target of layer {name} has mean square {energy}; it needs a finite, non-zero one")
        weights[name] = 1.0 / (len(targets) * energy)
    return weights
