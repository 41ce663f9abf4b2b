"""The style transfer network of Ghiasi et al. (2017): a photo and a 100-number style embedding in, a painting out.

This is the slim version Magenta distilled for phones (a quarter of the paper's channels: 8, 16, 32),
with the weights of the int8 graph ``arbitrary_transform.onnx``, dequantised.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .layers import ConditionalInstanceNorm, ConvLayer, ResidualBlock
from .onnx_weights import model_path, read_convs

__all__ = ["EMBEDDING_SIZE", "StyleTransformer", "transformer_state_dict"]

EMBEDDING_SIZE = 100
_SIZE_MULTIPLE = 4  # two stride-2 convolutions down, two 2x upsamplings back


class StyleTransformer(nn.Module):
    """Contract (three convolutions, the last two strided), five residual blocks, expand (upsampling convolutions).

    The contract part uses fixed (trained, batch-norm folded) weights; every convolution after it is
    followed by a ``ConditionalInstanceNorm`` whose γ and β are linear maps of the style embedding. The
    last layer ends in a sigmoid, so the output is in (0, 1). Fully convolutional: any H and W; inputs
    are reflect-padded to a multiple of 4 and the result cropped back.

    Call it as ``transformer(content_image, embedding)`` with content (B, 3, H, W) RGB in [0, 1] and
    embedding (B, 100) or (1, 100). Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(self, widths: tuple[int, int, int] = (8, 16, 32), embedding_size: int = EMBEDDING_SIZE) -> None:
        super().__init__()
        a, b, c = widths

        def norm(channels: int) -> ConditionalInstanceNorm:
            return ConditionalInstanceNorm(channels, embedding_size)

        self.contract = nn.Sequential(ConvLayer(3, a, 9), ConvLayer(a, b, 3, stride=2), ConvLayer(b, c, 3, stride=2))
        self.residual = nn.ModuleList(ResidualBlock(c, embedding_size) for _ in range(5))
        self.expand = nn.ModuleList(
            [
                ConvLayer(c, b, 3, upsample=2, norm=norm(b), bias=False),
                ConvLayer(b, a, 3, upsample=2, norm=norm(a), bias=False),
                ConvLayer(a, 3, 9, norm=norm(3), activation="sigmoid", bias=False),
            ]
        )

    def forward(self, content_image: Tensor, embedding: Tensor) -> Tensor:
        """Stylise ``content_image`` (B, 3, H, W) in [0, 1] with ``embedding`` (B, 100); values in (0, 1) out."""
        h, w = content_image.shape[-2:]
        x = F.pad(content_image, (0, -w % _SIZE_MULTIPLE, 0, -h % _SIZE_MULTIPLE), mode="reflect")
        x = self.contract(x)
        for block in self.residual:
            x = block(x, embedding)
        for layer in self.expand:
            x = layer(x, embedding)
        return x[:, :, :h, :w]


def _norm_entries(prefix: str, scope: str, convs: dict) -> dict[str, Tensor]:
    entries = {}
    for part, onnx_name in (("to_beta", "Conv"), ("to_gamma", "Conv_1")):
        weight, bias = convs[f"style_params/transformer/{scope}/StyleNorm/{onnx_name}"]
        entries[f"{prefix}.norm.{part}.weight"] = weight.flatten(1)  # (C, 100, 1, 1) 1x1 conv -> (C, 100) linear
        entries[f"{prefix}.norm.{part}.bias"] = bias
    return entries


def transformer_state_dict() -> dict[str, Tensor]:
    """The ``StyleTransformer`` weights from ``arbitrary_transform.onnx``, under the module's own names.

    ONNX scope -> module: ``transformer/contract/conv{i}`` -> ``contract.{i-1}``,
    ``transformer/residual/residual{k}/conv{j}`` -> ``residual.{k-1}.conv{j}``,
    ``transformer/expand/conv{i}/conv`` -> ``expand.{i-1}``; the norms' γ and β come from
    ``style_params/<scope>/StyleNorm/Conv_1`` and ``.../Conv`` (1×1 convolutions of the embedding).
    """
    convs = read_convs(model_path("transformer"))
    state = {}
    for i in range(3):
        weight, bias = convs[f"transformer/contract/conv{i + 1}"]
        state.update({f"contract.{i}.conv.weight": weight, f"contract.{i}.conv.bias": bias})
    layers = [(f"residual.{k}.conv{j}", f"residual/residual{k + 1}/conv{j}") for k in range(5) for j in (1, 2)]
    layers += [(f"expand.{i}", f"expand/conv{i + 1}/conv") for i in range(3)]
    for prefix, scope in layers:
        weight, bias = convs[f"transformer/{scope}"]
        if bias is not None and bias.abs().max() > 0:
            raise ValueError(f"{scope} has a non-zero bias, which this port does not expect before a norm")
        state[f"{prefix}.conv.weight"] = weight
        state.update(_norm_entries(prefix, scope, convs))
    return state
