"""The style prediction network of Ghiasi et al. (2017): a painting in, a 100-number style embedding out.

Magenta's mobile version replaces the paper's Inception-v3 with MobileNetV2 (distilled from it); the
weights come from the int8 graph ``arbitrary_predict.onnx``, dequantised, with batch norm folded into
each convolution's bias.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .onnx_weights import model_path, read_convs
from .transformer import EMBEDDING_SIZE

__all__ = ["STYLE_SIZE", "InvertedResidual", "StylePredictor", "predictor_state_dict"]

STYLE_SIZE = 256
_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
"""MobileNetV2's stages: (expansion, output channels, blocks, stride of the first block)."""


class SamePad(nn.Module):
    """TensorFlow's "SAME" zero padding for a ``kernel_size`` convolution at ``stride``: extra row/column at the end."""

    def __init__(self, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):
            total = max(self.kernel_size - (size % self.stride or self.stride), 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


def _conv3x3(in_channels: int, out_channels: int, stride: int, groups: int = 1) -> nn.Sequential:
    if stride == 1:  # "SAME" is symmetric at stride 1: the convolution pads by itself, without a copy
        pad, conv = nn.Identity(), nn.Conv2d(in_channels, out_channels, 3, padding=1, groups=groups)
    else:
        pad, conv = SamePad(3, stride), nn.Conv2d(in_channels, out_channels, 3, stride, groups=groups)
    return nn.Sequential(pad, conv, nn.ReLU6())


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1×1 expansion, 3×3 depthwise convolution, 1×1 linear projection, a skip when shapes allow.

    Args:
        in_channels, out_channels: channels in and out.
        stride: 1 or 2 (the depthwise convolution's).
        expansion: hidden channels = ``expansion × in_channels``; 1 means no expansion layer.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1), nn.ReLU6()) if expansion != 1 else nn.Identity()
        self.depthwise = _conv3x3(hidden, hidden, stride, groups=hidden)
        self.project = nn.Conv2d(hidden, out_channels, 1)
        self.skip = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.skip else y


class StylePredictor(nn.Module):
    """MobileNetV2 features, their mean over positions (1280 numbers), and a linear map to the embedding.

    Call it as ``predictor(style_image)`` with a (B, 3, H, W) RGB image in [0, 1], trained at 256 × 256;
    returns (B, 100). Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(self, embedding_size: int = EMBEDDING_SIZE) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv3x3(3, 32, 2)]
        channels = 32
        for expansion, out_channels, repeats, stride in _BLOCKS:
            for i in range(repeats):
                layers.append(InvertedResidual(channels, out_channels, stride if i == 0 else 1, expansion))
                channels = out_channels
        layers.append(nn.Sequential(nn.Conv2d(channels, 1280, 1), nn.ReLU6()))
        self.features = nn.Sequential(*layers)
        self.to_embedding = nn.Linear(1280, embedding_size)

    def forward(self, style_image: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 100) style embedding."""
        return self.to_embedding(self.features(style_image).mean(dim=(2, 3)))


def predictor_state_dict() -> dict[str, Tensor]:
    """The ``StylePredictor`` weights from ``arbitrary_predict.onnx``, under the module's own names.

    ONNX scope -> module: ``MobilenetV2/Conv`` -> ``features.0``, ``MobilenetV2/expanded_conv{_i}/{expand,
    depthwise,project}`` -> ``features.{i+1}.{expand,depthwise,project}``, ``MobilenetV2/Conv_1`` ->
    ``features.18``, ``mobilenet_conv/Conv`` (a 1×1 convolution) -> ``to_embedding``.
    """
    convs = read_convs(model_path("predictor"))
    pairs = {
        "features.0.1": "MobilenetV2/Conv",
        "features.18.0": "MobilenetV2/Conv_1",
        "to_embedding": "mobilenet_conv/Conv",
    }
    for i in range(17):
        scope = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        pairs.update(
            {f"features.{i + 1}.depthwise.1": f"{scope}/depthwise", f"features.{i + 1}.project": f"{scope}/project"}
        )
        if i:
            pairs[f"features.{i + 1}.expand.0"] = f"{scope}/expand"
    state = {}
    for prefix, scope in pairs.items():
        weight, bias = convs[scope]
        state[f"{prefix}.weight"] = weight.flatten(1) if prefix == "to_embedding" else weight
        state[f"{prefix}.bias"] = bias
    return state
