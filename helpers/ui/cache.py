"""A disk cache of finished playground results whose key holds everything a result depends on.

The key hashes the run (every stage's full engine options and the engine's name), the decoded pixels of
the content and style images, and the environment: device type, effective precision, torch version,
``helpers.__version__`` and a hash of the source files that compute a result (the engine's modules and
``ui/run.py``, which hands the quick stage's result to the full-size stage), so a code change, a GPU run or a
changed image can never be answered with an old result.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .. import __version__
from ..errors import ImageError
from ..images import load_image, save_image
from ..runtime import autocast_dtype

__all__ = [
    "CACHE_ENV",
    "ENGINE_MODULES",
    "CachedResult",
    "ResultCache",
    "cache_key",
    "default_cache_dir",
    "engine_source_hash",
    "environment",
    "image_digest",
    "to_json_values",
]

CACHE_ENV = "NST_CACHE"
ENGINE_MODULES = ("engine", "optim", "objective", "options", "pyramid", "losses", "vgg", "images", "ui/run")
_HELPERS = Path(__file__).resolve().parents[1]


def default_cache_dir() -> Path:
    """``NST_CACHE`` if set, else ``$XDG_CACHE_HOME/nst-helpers`` or ``~/.cache/nst-helpers``: never the repository."""
    override = os.environ.get(CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "nst-helpers"


@functools.lru_cache(maxsize=1)
def engine_source_hash() -> str:
    """SHA-256 of the engine modules' source files (``ENGINE_MODULES``), read once per process."""
    digest = hashlib.sha256()
    for name in ENGINE_MODULES:
        digest.update(name.encode() + b"\0" + (_HELPERS / f"{name}.py").read_bytes() + b"\0")
    return digest.hexdigest()


def environment(device: str | torch.device, precision: str) -> dict[str, str]:
    """What a result depends on besides its options and images: device type, precision, versions, engine source.

    Args:
        device: the run's device.
        precision: the options' precision ("auto", "fp32" or "bf16"); "auto" is resolved for ``device``.
    """
    device = torch.device(device)
    dtype = autocast_dtype(precision, device)
    return {
        "device": device.type,
        "precision": str(dtype or torch.float32).removeprefix("torch."),
        "torch": torch.__version__,
        "helpers": __version__,
        "engine_source": engine_source_hash(),
    }


def image_digest(image: Tensor) -> str:
    """SHA-256 of an image tensor's dtype, shape and values: the pixels a run actually reads."""
    values = image.detach().cpu().contiguous()
    digest = hashlib.sha256(f"{values.dtype} {tuple(values.shape)}".encode())
    digest.update(values.numpy().tobytes())
    return digest.hexdigest()


def cache_key(run: Mapping[str, Any], images: Sequence[Tensor], env: Mapping[str, Any]) -> str:
    """A hex SHA-256 of ``run`` and ``env`` (as sorted JSON) and of each image's ``image_digest``.

    Args:
        run: JSON-ready description of the run: every stage's full options and the engine's name.
        images: the content and style tensors the run reads, in that order.
        env: ``environment(device, precision)``.
    """
    digest = hashlib.sha256(json.dumps({"run": run, "env": env}, sort_keys=True).encode())
    for image in images:
        digest.update(image_digest(image).encode())
    return digest.hexdigest()


def to_json_values(value: Any) -> Any:
    """``value`` as JSON would give it back: tuples become lists, tensors and NumPy numbers floats, NaN None."""
    if isinstance(value, Mapping):
        return {str(k): to_json_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_values(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass
class CachedResult:
    """A result read back from the cache: the image (1, 3, H, W) in [0, 1], its loss history and run time."""

    image: Tensor
    history: list[dict[str, Any]]
    seconds: float


class ResultCache:
    """Finished results in a folder: ``<key>.png`` (with metadata) and ``<key>.json`` (history, run time).

    Args:
        root: the folder; ``default_cache_dir()`` when None. It is made on the first ``put``.

    Built in notebooks/05_style_weights_playground.ipynb.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.png", self.root / f"{key}.json"

    def get(self, key: str) -> CachedResult | None:
        """The stored result for ``key``, or None when absent or unreadable."""
        png, record = self._paths(key)
        if not (png.is_file() and record.is_file()):
            return None
        try:
            stored = json.loads(record.read_text())
            image = load_image(png)
            return CachedResult(image=image, history=stored["history"], seconds=float(stored["seconds"]))
        except (OSError, ValueError, KeyError, TypeError, ImageError):
            return None

    def put(
        self,
        key: str,
        image: Tensor,
        history: Sequence[Mapping[str, Any]],
        seconds: float,
        metadata: Mapping[str, str] | None = None,
    ) -> Path:
        """Store a result and return the PNG's path; files are written under a temporary name, then renamed."""
        png, record = self._paths(key)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp_png, tmp_record = png.with_suffix(".tmp.png"), record.with_suffix(".tmp.json")
        save_image(image, tmp_png, metadata=metadata)
        tmp_record.write_text(json.dumps({"history": to_json_values(list(history)), "seconds": float(seconds)}))
        os.replace(tmp_png, png)
        os.replace(tmp_record, record)
        return png

    def __len__(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(1 for path in self.root.glob("*.json") if not path.name.endswith(".tmp.json"))
