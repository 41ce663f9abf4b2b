"""The Gatys objective at one image size: fixed targets, and the weighted losses of a candidate image."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from .losses import content_loss, gram_matrix, layer_style_loss, tv_loss
from .vgg import TORCHVISION_INDEX, VGGFeatures

__all__ = ["StyleObjective", "gram_mse"]


class _GramMSE(torch.autograd.Function):
    """mean((F Fᵀ / M - A)²) for one (1, C, H, W) feature map, with its gradient written out.

    The gradient is 4 (G - A) F / (C² M) (G and A are symmetric): one matrix product instead of the
    two that autograd spends on F Fᵀ, and no copy of a channels-last F, which is already the (M, C)
    matrix Fᵀ in memory. Everything runs in float32, also under autocast.
    """

    @staticmethod
    def forward(ctx, features: Tensor, target: Tensor) -> Tensor:
        _, c, h, w = features.shape
        with torch.autocast(features.device.type, enabled=False):
            channels_last = features.is_contiguous(memory_format=torch.channels_last)
            ctx.positions_first = channels_last and not features.is_contiguous()
            if ctx.positions_first:
                flat = features.permute(0, 2, 3, 1).reshape(h * w, c).float()  # Fᵀ, rows are positions
                gram = flat.t() @ flat / (h * w)
            else:
                flat = features.reshape(c, h * w).float()
                gram = flat @ flat.t() / (h * w)
            difference = gram - target.reshape(c, c).float()
            ctx.save_for_backward(flat, difference)
            ctx.shape, ctx.dtype = features.shape, features.dtype
            return (difference * difference).mean()

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        flat, difference = ctx.saved_tensors
        _, c, h, w = ctx.shape
        scale = grad_output.float() * (4.0 / (c * c * h * w))
        with torch.autocast(flat.device.type, enabled=False):
            if ctx.positions_first:
                grad = (flat @ (difference * scale)).view(1, h, w, c).permute(0, 3, 1, 2)
            else:
                grad = ((difference * scale) @ flat).view(1, c, h, w)
        return grad.to(ctx.dtype), None


def gram_mse(features: Tensor, target_gram: Tensor) -> Tensor:
    """``losses.layer_style_loss`` with a hand-written gradient, for one image (batch 1); the same value.

    Args:
        features: (1, C, H, W) features, contiguous or channels-last, any float dtype.
        target_gram: (C, C) or (1, C, C) target Gram matrix.

    Returns:
        Scalar float32 tensor: mean((F Fᵀ / (H W) - target)²).
    """
    if features.shape[0] != 1:
        return layer_style_loss(features, target_gram)
    return _GramMSE.apply(features, target_gram)


class StyleObjective:
    """Content, style and total-variation losses against targets computed once.

    The total is ``content_weight * Σ a_l content_l + style_weight * Σ w_l style_l + tv_weight * tv``,
    with ``content_l`` the mean squared feature difference, ``style_l`` the mean squared difference
    of Gram matrices F Fᵀ / (H W) and ``tv`` the mean squared neighbour difference.

    Args:
        extractor: a ``VGGFeatures``.
        content_image: (1, 3, H, W) in [0, 1], or None when no content term is wanted.
        style_images: (1, 3, H', W') images in [0, 1]; their Gram matrices are blended.
        blend_weights: one weight per style image (they are used as given).
        content_layers: layer name -> weight a_l.
        style_layers: layer name -> weight w_l.
        content_weight, style_weight, tv_weight: the three multipliers (α, β and the TV weight).
        autocast_dtype: run the convolutions under autocast in this dtype (None: the image's dtype).
            Gram matrices and loss sums are always computed in float32.

    Built in notebooks/04_style_transfer.ipynb.
    """

    def __init__(
        self,
        extractor: VGGFeatures,
        content_image: Tensor | None,
        style_images: Sequence[Tensor],
        blend_weights: Sequence[float],
        content_layers: Mapping[str, float],
        style_layers: Mapping[str, float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.extractor, self.autocast_dtype = extractor, autocast_dtype
        self.content_layers = dict(content_layers) if content_image is not None else {}
        self.style_layers = dict(style_layers) if style_images else {}
        self.weights = (float(content_weight), float(style_weight), float(tv_weight))
        self.layers = sorted({*self.content_layers, *self.style_layers}, key=TORCHVISION_INDEX.__getitem__)
        with torch.no_grad():
            self.content_targets = self._features(content_image, self.content_layers) if self.content_layers else {}
            self.style_targets = {name: 0.0 for name in self.style_layers}
            for image, blend in zip(style_images, blend_weights):
                for name, features in self._features(image, self.style_layers).items():
                    self.style_targets[name] = self.style_targets[name] + blend * gram_matrix(features.float())

    def _autocast(self, image: Tensor):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(image.device.type, dtype=self.autocast_dtype)

    def _features(self, image: Tensor, layers: Mapping[str, float]) -> dict[str, Tensor]:
        with self._autocast(image):
            features = self.extractor(image, list(layers))
        return {name: value.float() for name, value in features.items()}

    def __call__(self, image: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss of ``image`` (a scalar with a graph back to it) and its parts (detached).

        Args:
            image: (1, 3, H, W) candidate image in [0, 1], the same size as the targets.

        Returns:
            ``(total, parts)`` with parts "content", "style", "tv" and "style_layers" (a 1-D tensor in
            the order of ``style_layers``).
        """
        with self._autocast(image):
            features = self.extractor(image, self.layers)
        content = style = image.new_zeros((), dtype=torch.float32)
        for name, target in self.content_targets.items():
            content = content + self.content_layers[name] * content_loss(features[name].float(), target)
        per_layer = [gram_mse(features[name], gram) for name, gram in self.style_targets.items()]
        for name, loss in zip(self.style_targets, per_layer):
            style = style + self.style_layers[name] * loss
        content_weight, style_weight, tv_weight = self.weights
        tv = tv_loss(image.float()) if tv_weight else torch.zeros_like(content)
        total = content_weight * content + style_weight * style + tv_weight * tv
        layers = torch.stack(per_layer).detach() if per_layer else content.new_zeros(0)
        return total, {"content": content.detach(), "style": style.detach(), "tv": tv.detach(), "style_layers": layers}
