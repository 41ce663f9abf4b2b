"""The paper's normalised VGG19: every filter rescaled so that its mean activation over images and positions is 1.

ReLU and both poolings commute with a positive per-channel scale, so dividing filter c of one layer by its
mean activation m_c, and multiplying the next layer's weights on input channel c by m_c, leaves every later
layer's pre-activation unchanged: the normalised network's features are the original ones divided by m_c,
channel by channel. That reweights the channels inside each Gram matrix, which per-layer weights cannot do.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["FILTER_MEANS_FILE", "filter_means", "normalized_state_dict", "stored_filter_means", "RELU_LAYERS"]

FILTER_MEANS_FILE = Path(__file__).resolve().parent / "data" / "vgg19_caffe_filter_means.json"
RELU_LAYERS = (
    "relu1_1",
    "relu1_2",
    "relu2_1",
    "relu2_2",
    "relu3_1",
    "relu3_2",
    "relu3_3",
    "relu3_4",
    "relu4_1",
    "relu4_2",
    "relu4_3",
    "relu4_4",
    "relu5_1",
    "relu5_2",
    "relu5_3",
    "relu5_4",
)


@torch.no_grad()
def filter_means(extractor, images: Iterable[Tensor]) -> dict[str, Tensor]:
    """Mean activation of every filter of every relu layer, over the images and all their positions.

    Args:
        extractor: a ``VGGFeatures`` (the raw network to measure).
        images: (1, 3, H, W) images in [0, 1], any sizes; each image counts in proportion to its positions.

    Returns:
        relu layer name -> (C,) float64 tensor of means.

    Built in notebooks/02_vgg_features.ipynb.
    """
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    for image in images:
        for name, features in extractor(image, RELU_LAYERS).items():
            sums[name] = sums.get(name, 0) + features.float().sum(dim=(0, 2, 3)).cpu().double()  # MPS has no float64
            counts[name] = counts.get(name, 0) + features.shape[0] * features.shape[2] * features.shape[3]
    if not sums:
        raise ValueError("images is empty: give at least one image to measure the filters on")
    return {name: sums[name] / counts[name] for name in RELU_LAYERS}


@functools.lru_cache(maxsize=1)
def _stored() -> dict:
    return json.loads(FILTER_MEANS_FILE.read_text())


def stored_filter_means() -> dict[str, Tensor]:
    """The per-filter means that ``weights="caffe-normalized"`` uses (written by scripts/vgg_filter_means.py)."""
    return {name: torch.tensor(values, dtype=torch.float64) for name, values in _stored()["means"].items()}


def _caffe_state() -> dict[str, Tensor]:
    from .vgg import _caffe_state_dict

    return _caffe_state_dict()


def normalized_state_dict(state: Mapping[str, Tensor], means: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
    """Caffe VGG19 weights (torchvision layout) with each filter divided by its mean activation.

    Args:
        state: index-keyed conv weights and biases, as ``VGGFeatures`` loads them.
        means: relu layer name -> (C,) mean activations; None reads the stored table. A filter whose mean
            is not positive (it never fires on the measured images) keeps its scale. The stored means were
            measured with max pooling, as the network was trained; with average pooling the layers after the
            first pooling see other activations, so their filters average close to 1 but not exactly 1.

    Returns:
        A new state dict for ``VGGFeatures``.
    """
    from .vgg import TORCHVISION_INDEX

    means = stored_filter_means() if means is None else means
    result, previous = dict(state), None
    for name in RELU_LAYERS:
        index = TORCHVISION_INDEX[name] - 1  # the conv before this relu
        weight = state[f"{index}.weight"].double()
        scale = means[name].to(weight.device, torch.float64)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        if previous is not None:
            weight = weight * previous.view(1, -1, 1, 1)
        result[f"{index}.weight"] = (weight / scale.view(-1, 1, 1, 1)).float()
        result[f"{index}.bias"] = (state[f"{index}.bias"].double() / scale).float()
        previous = scale
    return result
