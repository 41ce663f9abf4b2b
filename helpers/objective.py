"""The Gatys objective at one image size: fixed targets, and the weighted losses of a candidate image."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from .losses import content_loss, gram_matrix, layer_style_loss, tv_loss
from .vgg import TORCHVISION_INDEX, VGGFeatures

__all__ = ["StyleObjective"]


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
        per_layer = [layer_style_loss(features[name], gram) for name, gram in self.style_targets.items()]
        for name, loss in zip(self.style_targets, per_layer):
            style = style + self.style_layers[name] * loss
        content_weight, style_weight, tv_weight = self.weights
        tv = tv_loss(image.float()) if tv_weight else torch.zeros_like(content)
        total = content_weight * content + style_weight * style + tv_weight * tv
        layers = torch.stack(per_layer).detach() if per_layer else content.new_zeros(0)
        return total, {"content": content.detach(), "style": style.detach(), "tv": tv.detach(), "style_layers": layers}
