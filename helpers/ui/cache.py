"""A disk cache of finished playground results, keyed by the engine options and the input images."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from ..errors import ImageError
from ..images import load_image, save_image

__all__ = ["cache_key", "to_json_values", "CachedResult", "ResultCache"]


def cache_key(options: Mapping[str, Any], images: Sequence[bytes], tag: str = "") -> str:
    """A hex SHA-256 of the options (as sorted JSON), each image's bytes and a free ``tag`` (the engine's name).

    Args:
        options: JSON-serialisable engine options.
        images: the raw bytes of the content and style files, in that order.
        tag: anything else the result depends on.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(options), sort_keys=True).encode())
    for data in images:
        digest.update(hashlib.sha256(bytes(data)).digest())
    digest.update(tag.encode())
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

    Built in notebooks/05_style_weights_playground.ipynb.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

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
        except (OSError, ValueError, ImageError):
            return None
        return CachedResult(image=image, history=stored["history"], seconds=float(stored["seconds"]))

    def put(self, key: str, image: Tensor, history: Sequence[Mapping[str, Any]], seconds: float,
            metadata: Mapping[str, str] | None = None) -> Path:
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
        return len(list(self.root.glob("*.json"))) - len(list(self.root.glob("*.tmp.json"))) if self.root.is_dir() else 0
