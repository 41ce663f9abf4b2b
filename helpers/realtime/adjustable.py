"""Adjustable real-time style transfer (Babaeizadeh & Ghiasi 2020) at teaching scale: the loss weights as inputs.

A small network reads the painting's style embedding and the loss weights of ``helpers.stylize`` (α/β and one
weight per style layer, in balanced units) and returns a new embedding; the frozen transformer of Ghiasi et al.
paints with it. It was trained on ``helpers.objective.StyleObjective`` with the weights drawn at random for
every image (``scripts/train_adjustable.py``); its weights ship in ``helpers/realtime/models``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import WeightsUnavailableError
from ..options import DEFAULT_STYLE_LAYERS, layer_weights
from .api import checked_embedding, load_transformer
from .transformer import EMBEDDING_SIZE
from .validation import check_finite, check_image, check_style_source

__all__ = [
    "CHECKPOINT",
    "LAYER_WEIGHT_RANGE",
    "MANIFEST",
    "RATIO_RANGE",
    "SHARE_FLOOR",
    "STYLE_LAYERS",
    "TV_WEIGHT",
    "WeightConditioner",
    "adjustable_embedding",
    "adjustable_stylize",
    "load_conditioner",
    "weight_features",
]

STYLE_LAYERS: tuple[str, ...] = tuple(DEFAULT_STYLE_LAYERS)
RATIO_RANGE = (1e-3, 1e3)
"""α/β = content_weight / style_weight values the network was trained on; outside, the nearest end is used."""
LAYER_WEIGHT_RANGE = (1e-2, 1e2)
"""Per-layer weights drawn in training (log-uniformly), besides 0 (off)."""
SHARE_FLOOR = 1e-5
"""A layer's share of the style term, w_l / Σ w, is fed as at least this: 0 (off) and 1e-5 look the same."""
TV_WEIGHT = 0.01
"""The smoothness weight of training, next to style_weight = 1 (``stylize``'s default)."""
NUM_WEIGHTS = 1 + len(STYLE_LAYERS)
MODEL_DIR = Path(__file__).resolve().parent / "models"
CHECKPOINT = MODEL_DIR / "adjustable.pt"
MANIFEST = MODEL_DIR / "adjustable.json"


def weight_features(
    content_weight: float, style_weight: float, style_layers: Sequence[str] | Mapping[str, float]
) -> Tensor:
    """The network's view of the loss weights: six numbers, each about in [-1, 1].

    Args:
        content_weight, style_weight: α and β in balanced units; only α/β matters, clamped to ``RATIO_RANGE``.
        style_layers: layer -> weight over relu1_1 ... relu5_1 (a missing layer is off, weight 0), or a list
            of layers (equal weights). Only the shares w_l / Σ w matter, as in ``StyleObjective``.

    Returns:
        float32 (1, 6): log10(α/β) / 3, then log10(max(share_l, 1e-5)) / 5 for each of the five layers.

    Built in notebooks/07_adjustable_style_transfer.ipynb.
    """
    for name, value in (("content_weight", content_weight), ("style_weight", style_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if style_weight == 0:
        raise ValueError("style_weight is 0: the network always paints; give it a weight above 0")
    weights = layer_weights(style_layers, "style_layers")
    unknown = sorted(set(weights) - set(STYLE_LAYERS))
    if unknown:
        raise ValueError(f"style_layers: the adjustable network knows only {list(STYLE_LAYERS)}, got {unknown}")
    ratio = min(max(content_weight / style_weight, RATIO_RANGE[0]), RATIO_RANGE[1])
    total = sum(weights.values())
    shares = [max(weights.get(name, 0.0) / total, SHARE_FLOOR) for name in STYLE_LAYERS]
    values = [math.log10(ratio) / 3] + [math.log10(share) / 5 for share in shares]
    return torch.tensor([values], dtype=torch.float32)


class WeightConditioner(nn.Module):
    """A small network that moves a style embedding according to the loss weights: e' = e + D u + A(e, u).

    Args:
        hidden: width of the MLP's two hidden layers.
        embedding_size: length of the style embedding (100).
        num_weights: length of ``weight_features`` (6).

    D u (``direct``, one linear map of the six weight features) is the move that every painting shares: the
    gradient reaches it without passing through the MLP. Fitted to one photo and painting, the MLP alone learns
    one move for every setting, and D is what tells the settings apart (notebook 07, section 3.1). A(e, u), the
    MLP, adds what depends on the painting. Both last layers start at zero, so an untrained conditioner returns the
    embedding unchanged (the output of ``fast_stylize``). Call it as ``conditioner(embedding, features)`` with
    (B or 1, 100) and (B or 1, 6). Built in notebooks/07_adjustable_style_transfer.ipynb.
    """

    def __init__(self, hidden: int = 128, embedding_size: int = EMBEDDING_SIZE, num_weights: int = NUM_WEIGHTS) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(embedding_size + num_weights, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, embedding_size),
        )
        self.direct = nn.Linear(num_weights, embedding_size)
        for layer in (self.net[-1], self.direct):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, embedding: Tensor, features: Tensor) -> Tensor:
        """(B, 100) embedding and (B, 6) weight features (either may have a batch of 1) -> (B, 100)."""
        batch = max(embedding.shape[0], features.shape[0])
        features = features.expand(batch, -1)
        inputs = torch.cat([embedding.expand(batch, -1), features], dim=1)
        return embedding + self.direct(features) + self.net(inputs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _load(device: str) -> WeightConditioner:
    if not CHECKPOINT.is_file() or not MANIFEST.is_file():
        raise WeightsUnavailableError(
            f"{CHECKPOINT.name} or {MANIFEST.name} is missing from {MODEL_DIR}; reinstall helpers, or train one "
            f"with `python scripts/train_adjustable.py`"
        )
    manifest = json.loads(MANIFEST.read_text())
    if _sha256(CHECKPOINT) != manifest["checkpoint_sha256"]:
        raise WeightsUnavailableError(
            f"{CHECKPOINT} does not match the SHA-256 in {MANIFEST.name}: the file is damaged or was replaced "
            f"(a Git LFS pointer?); restore it with `git checkout -- {CHECKPOINT.name}`"
        )
    conditioner = WeightConditioner(**manifest["network"])
    conditioner.load_state_dict(torch.load(CHECKPOINT, map_location="cpu", weights_only=True))
    return conditioner.requires_grad_(False).eval().to(device)


def load_conditioner(device: str | torch.device | None = None) -> WeightConditioner:
    """The trained ``WeightConditioner``, frozen, in eval mode; the same object on every call with the same device.

    Raises WeightsUnavailableError when the checkpoint is missing or its SHA-256 differs from the manifest's.
    """
    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return _load(str(device))


def adjustable_embedding(
    embedding: Tensor,
    *,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    content_weight: float = 0.1,
    style_weight: float = 1.0,
) -> Tensor:
    """The embedding e' = e + A(e, u) that the transformer paints with for these loss weights.

    Args:
        embedding: (B, 100) float32 from ``style_embedding``.
        style_layers, content_weight, style_weight: as in ``adjustable_stylize``.

    Returns:
        (B, 100) float32 on the embedding's device.
    """
    features = weight_features(content_weight, style_weight, style_layers).to(embedding.device)
    with torch.inference_mode():
        return load_conditioner(embedding.device)(embedding, features).clone()


def adjustable_stylize(
    content_image: Tensor,
    style_image: Tensor | None = None,
    *,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    content_weight: float = 0.1,
    style_weight: float = 1.0,
    embedding: Tensor | None = None,
) -> Tensor:
    """Stylise a photo in one forward pass, steered by the loss weights of ``helpers.stylize``.

    Args:
        content_image: float32 (B, 3, H, W) RGB in [0, 1], at least 16 px a side; the result has its size.
        style_image: a painting (1 or B images, any size), or None when ``embedding`` is given.
        style_layers: layer -> weight in balanced units over relu1_1 ... relu5_1, as in ``stylize``; a missing
            layer or weight 0 is off. Only the proportions matter (the style term is their weighted mean).
        content_weight, style_weight: α and β in balanced units; only α/β is read, clamped to ``RATIO_RANGE``
            (the network was trained with tv_weight 0.01 next to β = 1).
        embedding: (1 or B, 100) from ``style_embedding``, instead of ``style_image`` (skips the predictor).

    Returns:
        (B, 3, H, W) float32 in [0, 1] on the content image's device.

    Built in notebooks/07_adjustable_style_transfer.ipynb.
    """
    check_image(content_image, "content_image")
    check_style_source(style_image, embedding)
    embedding = checked_embedding(content_image, style_image, embedding)
    adjusted = adjustable_embedding(
        embedding, style_layers=style_layers, content_weight=content_weight, style_weight=style_weight
    )
    transformer = load_transformer(content_image.device)
    with torch.inference_mode():
        stylized = transformer(content_image.contiguous(memory_format=torch.channels_last), adjusted)
    return check_finite(stylized, "adjustable_stylize")
