"""Building blocks shared by the real-time networks: conditional instance norm, padded convolutions, residual blocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ConditionalInstanceNorm", "ConvLayer", "ResidualBlock"]


class ConditionalInstanceNorm(nn.Module):
    """Instance normalisation whose per-channel scale γ and shift β are linear maps of a condition vector.

    For each image and channel, with μ and σ² the mean and (biased) variance over its H·W positions:
    ``y = γ(c) · (x − μ) / sqrt(σ² + ε) + β(c)``, where ``γ(c) = W_γ c + b_γ`` and ``β(c) = W_β c + b_β``.
    Dumoulin et al. (2017): ``c`` is a weight vector over N styles and the columns of ``W_γ``, ``W_β``
    are each style's own γ and β (no bias). Ghiasi et al. (2017): ``c`` is the 100-number style embedding.

    Args:
        channels: C, the channels normalised.
        condition_size: K, the length of the condition vector.
        bias: whether γ(c) and β(c) have a constant term ``b``.
        eps: ε, added to the variance.

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(self, channels: int, condition_size: int, bias: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.to_gamma = nn.Linear(condition_size, channels, bias=bias)
        self.to_beta = nn.Linear(condition_size, channels, bias=bias)
        self.eps = eps

    def gamma_beta(self, condition: Tensor) -> tuple[Tensor, Tensor]:
        """γ(c) and β(c), each (B, C, 1, 1), from a (B, K) condition."""
        return self.to_gamma(condition)[:, :, None, None], self.to_beta(condition)[:, :, None, None]

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        """Normalise ``x`` (B, C, H, W) per image and channel, then scale and shift by γ(c), β(c).

        Args:
            x: (B, C, H, W) feature maps.
            condition: (B, K) or (1, K), broadcast over the batch.

        Returns:
            (B, C, H, W), computed as ``x · s + t`` with ``s = γ / sqrt(σ² + ε)`` and ``t = β − μ s``:
            the formula's numbers, with one pass over ``x`` for the statistics and one for the output.
        """
        gamma, beta = self.gamma_beta(condition)
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = ((x * x).mean(dim=(2, 3), keepdim=True) - mean * mean).clamp_min(0)  # E[x²] − μ²: faster than var_mean
        scale = gamma * torch.rsqrt(var + self.eps)
        return torch.addcmul(beta - mean * scale, x, scale)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


class ConvLayer(nn.Module):
    """Optional nearest-neighbour upsampling, a reflect-padded convolution, optional norm, an activation.

    Reflect padding by ``kernel_size // 2`` keeps the size at stride 1 and halves it (rounding up) at
    stride 2. Upsampling before a stride-1 convolution is Magenta's smooth replacement for a
    transposed convolution.

    Args:
        in_channels, out_channels: channels in and out.
        kernel_size: odd kernel side.
        stride: 1 or 2.
        upsample: 1, or 2 to double H and W first.
        norm: a ``ConditionalInstanceNorm`` applied after the convolution, or None.
        activation: "relu", "sigmoid" or None.
        bias: whether the convolution adds a bias (pointless before a norm, which subtracts it).

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        *,
        upsample: int = 1,
        norm: ConditionalInstanceNorm | None = None,
        activation: str | None = "relu",
        bias: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        activations = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, None: nn.Identity}
        if activation not in activations:
            raise ValueError(f"activation must be 'relu', 'sigmoid' or None, got {activation!r}")
        self.upsample = nn.Upsample(scale_factor=upsample, mode="nearest") if upsample > 1 else nn.Identity()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, padding_mode="reflect", bias=bias
        )
        self.norm = norm
        self.activation = activations[activation]()

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        """(B, C_in, H, W) -> (B, C_out, H', W'); ``condition`` (B, K) feeds the norm, if there is one."""
        x = self.conv(self.upsample(x))
        if self.norm is not None:
            x = self.norm(x, condition)
        return self.activation(x)


class ResidualBlock(nn.Module):
    """Two 3×3 ``ConvLayer``s with conditional instance norm, ReLU after the first only, added to the input.

    Args:
        channels: C, kept through the block.
        condition_size: K, the length of the condition vector.
        norm_bias: whether the norms' γ(c), β(c) have a constant term.

    Built in notebooks/06_realtime_style_transfer.ipynb.
    """

    def __init__(self, channels: int, condition_size: int, norm_bias: bool = True) -> None:
        super().__init__()
        self.conv1 = ConvLayer(
            channels, channels, 3, norm=ConditionalInstanceNorm(channels, condition_size, norm_bias), bias=False
        )
        self.conv2 = ConvLayer(
            channels,
            channels,
            3,
            norm=ConditionalInstanceNorm(channels, condition_size, norm_bias),
            activation=None,
            bias=False,
        )

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W): ``x + conv2(conv1(x))``."""
        return x + self.conv2(self.conv1(x, condition), condition)
