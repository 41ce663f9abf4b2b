"""Loading, resizing, saving and showing images under the one image contract.

An image is a float32 tensor (B, 3, H, W), RGB, values in [0, 1].
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError
from torch import Tensor

from .errors import ImageError

__all__ = ["load_image", "resize_image", "save_image", "to_pil", "show_image", "show_images", "check_image", "as_image"]

_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def _open(source: str | Path | bytes | BinaryIO, name: str) -> Image.Image:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if path.is_dir():
            raise ImageError(f"{name}: is a directory, not an image file")
        if path.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty")
        source = path
    elif isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError(f"{name}: the data is empty")
        source = io.BytesIO(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageError(f"{name}: refused as a possible decompression bomb ({error})") from None
        except UnidentifiedImageError:
            raise ImageError(f"{name}: not an image format that Pillow can read") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageError(f"{name}: the image data is damaged or truncated ({error})") from None
    return image


def check_image(image: Tensor, name: str = "image", *, single: bool = False, values: bool = True) -> None:
    """Raise ValueError, naming ``name`` and the reason, unless ``image`` meets the image contract.

    Args:
        image: should be a float tensor (B, 3, H, W) with finite values in [0, 1].
        name: what the message calls it ("content_image", "style_image[1]", ...).
        single: also require B = 1.
        values: also check the values (finite, in [0, 1]); off where only the layout matters.
    """
    if not isinstance(image, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (1, 3, H, W) in [0, 1], got {type(image).__name__}")
    if image.dim() != 4 or image.shape[1] != 3 or image.shape[0] == 0 or (single and image.shape[0] != 1):
        wanted = "one image of shape (1, 3, H, W)" if single else "images of shape (B, 3, H, W) with B >= 1"
        raise ValueError(f"{name} must be {wanted}, got shape {tuple(image.shape)}")
    if not image.is_floating_point():
        raise ValueError(f"{name} must be floating point with values in [0, 1], got dtype {image.dtype}")
    if not values:
        return
    if not torch.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    low, high = (float(v) for v in image.aminmax())
    if low < -1e-3 or high > 1 + 1e-3:
        raise ValueError(
            f"{name} has values in [{low:.4g}, {high:.4g}]; images are in [0, 1] (divide 8-bit values by 255)"
        )


def as_image(image: Tensor, name: str = "image") -> Tensor:
    """One image in the contract from what a caller may hand in: (3, H, W) gains its batch, uint8 becomes /255.

    Args:
        image: (1, 3, H, W) or (3, H, W); uint8 in 0-255 or floating point in [0, 1] (float64 and
            half precision are converted to float32).
        name: what error messages call it.

    Returns:
        float32 (1, 3, H, W) in [0, 1]: the input itself when it already is one, else a converted copy.
    """
    if isinstance(image, Tensor) and image.dim() == 3:
        image = image.unsqueeze(0)
    if isinstance(image, Tensor) and image.dtype == torch.uint8:
        image = image.float() / 255
    elif isinstance(image, Tensor) and image.is_floating_point() and image.dtype != torch.float32:
        image = image.float()
    check_image(image, name, single=True)
    return image


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """(H, W, 3) float32 array in [0, 1] from any Pillow mode."""
    if image.mode in _SIXTEEN_BIT:
        grey = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if grey.max(initial=0) > 255 or image.mode != "I" else 255.0
        return np.repeat((grey / peak).clip(0, 1)[..., None], 3, axis=2)
    if image.mode == "F":
        return np.repeat(np.asarray(image, dtype=np.float32).clip(0, 1)[..., None], 3, axis=2)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def load_image(source: str | Path | bytes | BinaryIO, max_size: int | None = None, name: str | None = None) -> Tensor:
    """Read an image file into the image contract.

    Args:
        source: a path, or the file's bytes / a binary file object (for uploads).
        max_size: if given, the longest side is scaled down to at most this many pixels,
            keeping the aspect ratio; smaller images are left as they are.
        name: what error messages call the source; defaults to the path.

    Returns:
        float32 tensor (1, 3, H, W), RGB in [0, 1]. EXIF orientation is applied, transparency is
        flattened onto white, and grey, 16-bit, palette and CMYK files become RGB.

    Raises:
        ImageError: the source is missing, a directory, empty, not an image, damaged or too large.

    Built in notebooks/00_start_here.ipynb.
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "uploaded image"))
    image = _open(source, name)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block should not make a readable image unreadable
        pass
    array = _to_rgb_array(image)
    tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0)
    return resize_image(tensor, max_size) if max_size is not None else tensor


def resize_image(image: Tensor, max_size: int, upscale: bool = False) -> Tensor:
    """Scale an image so that its longest side is ``max_size`` pixels, keeping the aspect ratio.

    Args:
        image: (B, 3, H, W) in [0, 1].
        max_size: the longest side after resizing, a positive integer.
        upscale: also enlarge images smaller than ``max_size`` (off by default).

    Returns:
        A new (B, 3, H', W') tensor in [0, 1] (antialiased bicubic); the input itself if no change is needed.
    """
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ValueError(f"max_size must be a positive integer number of pixels, got {max_size!r}")
    h, w = image.shape[-2:]
    scale = max_size / max(h, w)
    if scale == 1 or (scale > 1 and not upscale):
        return image
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    resized = F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=scale < 1)
    return resized.clamp(0, 1)


def _to_uint8(image: Tensor) -> np.ndarray:
    image = image.unsqueeze(0) if isinstance(image, Tensor) and image.dim() == 3 else image
    check_image(image, "image", single=True, values=False)
    image = image[0].detach().float().cpu()
    if not torch.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values; refusing to convert it")
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def to_pil(image: Tensor) -> Image.Image:
    """Convert a (1, 3, H, W) or (3, H, W) image in [0, 1] to an 8-bit RGB Pillow image."""
    return Image.fromarray(_to_uint8(image), mode="RGB")


def save_image(image: Tensor, path: str | Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Write an image to disk (the format follows the suffix; PNG keeps ``metadata`` as text chunks).

    Args:
        image: (1, 3, H, W) or (3, H, W) in [0, 1]; values outside are clipped, NaN is refused.
        path: destination; missing parent folders are created.
        metadata: optional text key/value pairs stored in a PNG.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {}
    if metadata and path.suffix.lower() == ".png":
        info = PngImagePlugin.PngInfo()
        for key, value in metadata.items():
            info.add_text(str(key), str(value))
        options["pnginfo"] = info
    to_pil(image).save(path, **options)
    return path


def show_image(image: Tensor, ax=None, title: str | None = None):
    """Draw one image on a Matplotlib axis (a new figure if ``ax`` is None) and return the axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(_to_uint8(image))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_images(
    images: Sequence[Tensor], titles: Sequence[str] | None = None, ncols: int | None = None, size: float = 3.0
):
    """Show several images in a grid and return the Matplotlib figure (never calls ``plt.show``).

    Args:
        images: images of any sizes, each (1, 3, H, W) or (3, H, W) in [0, 1].
        titles: one title per image, or None.
        ncols: columns of the grid; defaults to all in one row up to 4.
        size: height of each panel in inches.
    """
    import matplotlib.pyplot as plt

    images = list(images)
    if not images:
        raise ValueError("images is empty")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    ncols = ncols or min(len(images), 4)
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(images):
            show_image(images[index], ax=ax, title=titles[index] if titles else None)
        else:
            ax.set_axis_off()
    fig.tight_layout()
    return fig
