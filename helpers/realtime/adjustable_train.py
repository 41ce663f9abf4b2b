"""Training the adjustable network: random crops of photos and paintings, loss weights drawn at random, and the
objective of ``helpers.objective`` with those weights as the loss.

Every image of a batch gets its own weights: log10(α/β) uniform in [-3, 3] and each layer weight log-uniform in
[1e-2, 1e2], or 0 (off) with probability ``off_probability``. Each image's loss is ``StyleObjective``'s total in
balanced units divided by the total that ``fast_stylize``'s picture of the same photo, painting and weights
scores: a constant per image, so it changes no setting's best picture, but every setting then counts about the
same, and 1 means "no better than the network of notebook 06". ``scripts/train_adjustable.py`` runs
``train_steps`` with checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..images import resize_image
from ..objective import StyleObjective
from ..options import StyleOptions
from ..vgg import VGGFeatures
from .adjustable import LAYER_WEIGHT_RANGE, RATIO_RANGE, STYLE_LAYERS, TV_WEIGHT, WeightConditioner, weight_features
from .api import load_transformer, style_embedding

__all__ = [
    "AdjustableModel",
    "PaintingBank",
    "Setting",
    "batch_loss",
    "boosted",
    "random_crop",
    "sample_setting",
    "setting_objective",
    "train_steps",
]


@dataclass(frozen=True)
class Setting:
    """One choice of loss weights: α/β (``ratio``, with β = 1) and layer -> weight (0 = off)."""

    ratio: float
    style_layers: Mapping[str, float]

    def features(self) -> Tensor:
        """The (1, 6) input of the conditioner for this setting."""
        return weight_features(self.ratio, 1.0, self.style_layers)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def sample_setting(generator: torch.Generator, off_probability: float = 0.15) -> Setting:
    """Loss weights drawn log-uniformly from ``RATIO_RANGE`` and ``LAYER_WEIGHT_RANGE``; a layer is off with
    probability ``off_probability`` (at least one stays on)."""
    ratio = 10 ** _uniform(generator, *map(math.log10, RATIO_RANGE))
    layers = {name: 10 ** _uniform(generator, *map(math.log10, LAYER_WEIGHT_RANGE)) for name in STYLE_LAYERS}
    off = torch.rand(len(STYLE_LAYERS), generator=generator) < off_probability
    if off.all():
        off[int(torch.randint(len(STYLE_LAYERS), (), generator=generator))] = False
    return Setting(ratio, {name: 0.0 if o else w for (name, w), o in zip(layers.items(), off.tolist())})


def boosted(setting: Setting, generator: torch.Generator, factor: float = 100.0) -> Setting:
    """``setting`` with one layer, drawn at random, weighed ``factor`` times more (an off layer comes on at
    ``factor`` times the mean of the others): the same photo and painting scored both ways tell the network
    what that layer's slider means."""
    name = STYLE_LAYERS[int(torch.randint(len(STYLE_LAYERS), (), generator=generator))]
    weights = dict(setting.style_layers)
    others = [w for n, w in weights.items() if n != name and w > 0] or [1.0]
    weights[name] = weights[name] * factor if weights[name] > 0 else factor * sum(others) / len(others)
    return Setting(setting.ratio, weights)


def random_crop(image: Tensor, size: int, generator: torch.Generator, zoom: tuple[float, float] = (1.0, 2.0)) -> Tensor:
    """A ``size`` × ``size`` crop of a (1, 3, H, W) image: shorter side resized to ``size`` × U(zoom), random
    position, mirrored with probability 1/2."""
    h, w = image.shape[-2:]
    short = size * _uniform(generator, *zoom)
    scale = short / min(h, w)
    resized = F.interpolate(
        image,
        size=(max(size, round(h * scale)), max(size, round(w * scale))),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    ).clamp(0, 1)
    top = int(torch.randint(resized.shape[-2] - size + 1, (), generator=generator))
    left = int(torch.randint(resized.shape[-1] - size + 1, (), generator=generator))
    crop = resized[:, :, top : top + size, left : left + size]
    return crop.flip(-1) if float(torch.rand((), generator=generator)) < 0.5 else crop


class PaintingBank:
    """Crops of the training paintings, each at the training size with its style embedding, made once.

    Args:
        paintings: name -> (1, 3, H, W) painting in [0, 1].
        size: longest side of every crop (the content crops' size, as ``stylize`` scales a style image).
        crops: crops per painting; the first is the whole painting, the others cover 60-100 % of each side.
        generator: the random stream.
    """

    def __init__(self, paintings: Mapping[str, Tensor], size: int, crops: int, generator: torch.Generator) -> None:
        self.names, self.images, self.embeddings = [], [], []
        for name, painting in paintings.items():
            h, w = painting.shape[-2:]
            for k in range(crops):
                fraction = 1.0 if k == 0 else _uniform(generator, 0.6, 1.0)
                ch, cw = max(16, round(h * fraction)), max(16, round(w * fraction))
                top = int(torch.randint(h - ch + 1, (), generator=generator))
                left = int(torch.randint(w - cw + 1, (), generator=generator))
                crop = painting[:, :, top : top + ch, left : left + cw]
                crop = crop.flip(-1) if k and float(torch.rand((), generator=generator)) < 0.5 else crop
                self.names.append(name)
                self.images.append(resize_image(crop.contiguous(), size, upscale=True))
                embedding = style_embedding(crop.contiguous())
                self.embeddings.append(embedding.clone())  # a normal tensor: inference tensors cannot join a graph

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """One (style image, embedding) pair drawn uniformly."""
        index = int(torch.randint(len(self), (), generator=generator))
        return self.images[index], self.embeddings[index]


class AdjustableModel(nn.Module):
    """The conditioner in front of the frozen transformer: ``model(content, embedding, features)`` -> image.

    Args:
        conditioner: the trainable ``WeightConditioner``.

    The transformer's weights are frozen but the gradient flows through it into the embedding.
    """

    def __init__(self, conditioner: WeightConditioner) -> None:
        super().__init__()
        self.conditioner = conditioner
        self.transformer = [load_transformer()]  # in a list: not a submodule, so not in the state dict

    def forward(self, content_image: Tensor, embedding: Tensor, features: Tensor) -> Tensor:
        """(B, 3, H, W) photos, (B, 100) embeddings, (B, 6) weight features -> (B, 3, H, W) in (0, 1)."""
        adjusted = self.conditioner(embedding, features)
        return self.transformer[0](content_image.contiguous(memory_format=torch.channels_last), adjusted)


def setting_objective(
    extractor: VGGFeatures, content_image: Tensor, style_image: Tensor, setting: Setting
) -> StyleObjective:
    """``StyleObjective`` in balanced units with a setting's weights (content relu4_2, TV 0.01), for one pair."""
    options = StyleOptions(
        style_layers=dict(setting.style_layers), content_weight=setting.ratio, style_weight=1.0, tv_weight=TV_WEIGHT
    )
    return StyleObjective(extractor, content_image, [style_image], options)


def batch_loss(
    model: nn.Module,
    extractor: VGGFeatures,
    contents: Tensor,
    styles: Sequence[Tensor],
    embeddings: Tensor,
    settings: Sequence[Setting],
) -> tuple[Tensor, list[dict]]:
    """Mean over the batch of each image's objective total relative to ``fast_stylize``'s, and each image's parts.

    Args:
        model: ``model(contents, embeddings, features)`` -> images.
        extractor: the VGG19 the objective scores with.
        contents: (B, 3, S, S) photos; styles: B (1, 3, h, w) paintings; embeddings: (B, 100).
        settings: B loss-weight settings.

    Returns:
        The mean relative loss (a scalar with a graph back to the model) and one record per image.
    """
    features = torch.cat([s.features() for s in settings]).to(contents.device)
    images = model(contents, embeddings, features).contiguous()
    with torch.no_grad():
        references = load_transformer(contents.device)(
            contents.contiguous(memory_format=torch.channels_last), embeddings
        ).contiguous()
    losses, records = [], []
    for i, setting in enumerate(settings):
        objective = setting_objective(extractor, contents[i : i + 1], styles[i], setting)
        total, parts = objective(images[i : i + 1])
        with torch.no_grad():
            reference = objective(references[i : i + 1])[0]
        losses.append(total / reference)
        records.append(
            {
                "relative": float(losses[-1].detach()),
                "total": float(total.detach()),
                "content": float(parts["content"]),
                "style": float(parts["style"]),
                "style_layers": parts["style_layers"].tolist(),
                "ratio": setting.ratio,
            }
        )
    return torch.stack(losses).mean(), records


def train_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    extractor: VGGFeatures,
    photos: Sequence[Tensor],
    bank: PaintingBank,
    generator: torch.Generator,
    *,
    steps: int,
    batch: int,
    size: int,
    paired: bool = False,
    callback: Callable[[int, float, list[dict]], object] | None = None,
) -> list[float]:
    """Run ``steps`` optimizer steps; each draws ``batch`` photo crops, paintings and settings from ``generator``.

    Args:
        model, optimizer: what is trained, and how.
        extractor: the VGG19 of the objective.
        photos: (1, 3, H, W) training photos; bank: the training paintings' crops.
        generator: the one random stream (save its state to resume exactly).
        steps, batch, size: how many steps, images per step, and the crops' side in pixels.
        paired: the second half of each batch repeats the first half's crops and paintings with one layer
            ``boosted`` (``batch`` must be even).
        callback: ``callback(step, loss, records)`` after every step; returning False stops.

    Returns:
        The loss of every step.
    """
    losses, drawn = [], batch // 2 if paired else batch
    for step in range(steps):
        picks = [int(torch.randint(len(photos), (), generator=generator)) for _ in range(drawn)]
        contents = torch.cat([random_crop(photos[p], size, generator) for p in picks])
        pairs = [bank.sample(generator) for _ in range(drawn)]
        settings = [sample_setting(generator) for _ in range(drawn)]
        if paired:
            contents, pairs = torch.cat([contents, contents]), pairs + pairs
            settings = settings + [boosted(setting, generator) for setting in settings]
        loss, records = batch_loss(
            model, extractor, contents, [s for s, _ in pairs], torch.cat([e for _, e in pairs]), settings
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        if callback is not None and callback(step, losses[-1], records) is False:
            break
    return losses
