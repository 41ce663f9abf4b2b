"""The Gatys objective at one image size: fixed targets, and the weighted losses of a candidate image."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from .losses import content_loss, gram_matrix, layer_style_loss, tv_loss
from .options import StyleOptions
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


def _target_scale(target: Tensor, name: str) -> float:
    scale = float(target.double().pow(2).mean())
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(
            f"the target at layer {name} has mean square {scale}; balanced units need a non-zero one "
            f"(is the image blank?); use units='raw'"
        )
    return scale


class StyleObjective:
    """Content, style and total-variation terms against targets computed once, in the options' units.

    With T_l the target at layer l (features P_l for content, the Gram matrix A_l for style):

    - ``units="balanced"``: content = Σ a_l mean((F_l - P_l)²)/mean(P_l²) / Σ a_l, style likewise with Gram
      matrices and w_l, tv = tv(x)/tv(reference image). Each term is 1 for a candidate whose features are zero
      (or as rough as the photo), whatever the layer, image size or weights file.
    - ``units="raw"``: content = Σ a_l mean((F_l - P_l)²), style = Σ w_l mean((G_l - A_l)²), tv = tv(x).

    The total is ``content_weight * content + style_weight * style + tv_weight * tv``.

    Args:
        extractor: a ``VGGFeatures``.
        content_image: (1, 3, H, W) in [0, 1], or None when no content term is wanted.
        style_images: (1, 3, H', W') images in [0, 1]; their Gram matrices are blended.
        options: the run's ``StyleOptions`` (layers, weights, units).
        blend_weights: one weight per style image, summing to 1 (None: equal).
        autocast_dtype: run the convolutions under autocast in this dtype (None: the image's dtype).
            Gram matrices and loss sums are always computed in float32.

    Built in notebooks/04_style_transfer.ipynb.
    """

    def __init__(
        self,
        extractor: VGGFeatures,
        content_image: Tensor | None,
        style_images: Sequence[Tensor],
        options: StyleOptions,
        blend_weights: Sequence[float] | None = None,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.extractor, self.autocast_dtype, self.units = extractor, autocast_dtype, options.units
        content_layers = dict(options.content_layers) if content_image is not None else {}
        style_layers = dict(options.style_layers) if style_images else {}
        blend = [1.0 / len(style_images)] * len(style_images) if blend_weights is None else list(blend_weights)
        self.weights = (options.content_weight, options.style_weight, options.tv_weight)
        self.layers = sorted({*content_layers, *style_layers}, key=TORCHVISION_INDEX.__getitem__)
        with torch.no_grad():
            self.content_targets = self._features(content_image, content_layers) if content_layers else {}
            self.style_targets = {name: 0.0 for name in style_layers}
            for image, share in zip(style_images, blend):
                for name, features in self._features(image, style_layers).items():
                    self.style_targets[name] = self.style_targets[name] + share * gram_matrix(features.float())
            reference = content_image if content_image is not None else style_images[0]
            roughness = float(tv_loss(reference.float())) if self.units == "balanced" else 1.0
            self.tv_scale = roughness if roughness > 0 else 1.0  # a flat reference image: plain units
        self.content_factors = self._factors(content_layers, self.content_targets)
        self.style_factors = self._factors(style_layers, self.style_targets)
        self.layer_scales = {
            name: 1.0 if self.units == "raw" else 1.0 / _target_scale(target, name)
            for name, target in self.style_targets.items()
        }

    def _factors(self, layers: Mapping[str, float], targets: Mapping[str, Tensor]) -> dict[str, float]:
        """What each layer's plain loss is multiplied by inside its term."""
        if self.units == "raw":
            return dict(layers)
        total = sum(layers.values())
        return {name: weight / total / _target_scale(targets[name], name) for name, weight in layers.items()}

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
            ``(total, parts)`` with the weighted terms "content", "style", "tv" (before α, β and the TV
            weight) and "style_layers": a 1-D tensor of each style layer's own loss in the options' units,
            in the order of ``style_targets``.
        """
        with self._autocast(image):
            features = self.extractor(image, self.layers)
        content = style = image.new_zeros((), dtype=torch.float32)
        for name, target in self.content_targets.items():
            content = content + self.content_factors[name] * content_loss(features[name].float(), target)
        per_layer = [gram_mse(features[name], gram) for name, gram in self.style_targets.items()]
        for name, loss in zip(self.style_targets, per_layer):
            style = style + self.style_factors[name] * loss
        content_weight, style_weight, tv_weight = self.weights
        tv = tv_loss(image.float()) / self.tv_scale if tv_weight else torch.zeros_like(content)
        total = content_weight * content + style_weight * style + tv_weight * tv
        layers = (
            torch.stack([loss.detach() * self.layer_scales[name] for name, loss in zip(self.style_targets, per_layer)])
            if per_layer
            else content.new_zeros(0)
        )
        return total, {"content": content.detach(), "style": style.detach(), "tv": tv.detach(), "style_layers": layers}
