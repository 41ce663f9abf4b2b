"""Device choice, seeding and the fast-mode switch: explicit calls, never import-time effects."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "choose_device",
    "seed_everything",
    "fast_mode",
    "data_dir",
    "autocast_dtype",
    "bf16_native",
    "DEVICE_ENV",
    "FAST_ENV",
    "DATA_ENV",
]

DEVICE_ENV = "NST_DEVICE"
FAST_ENV = "NST_FAST"
DATA_ENV = "NST_DATA"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(prefer: str | None = None) -> torch.device:
    """Pick the device to run on: CUDA, then Apple's MPS, then the CPU.

    Args:
        prefer: a device string ("cpu", "cuda", "cuda:1", "mps") that overrides the choice.
            When None, the environment variable ``NST_DEVICE`` is used if set.

    Returns:
        The chosen ``torch.device``. An explicit choice that is not available raises ValueError.

    Built in every notebook's setup cell.
    """
    choice = prefer if prefer is not None else os.environ.get(DEVICE_ENV, "").strip() or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(choice)
    except RuntimeError as error:
        raise ValueError(f"{DEVICE_ENV}/prefer={choice!r} is not a device name: {error}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {choice!r} was asked for, but CUDA is not available here")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"device {choice!r} was asked for, but MPS is not available here")
    return device


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices) and return a CPU generator seeded the same.

    Args:
        seed: a non-negative integer.

    Returns:
        A ``torch.Generator`` for code that wants its own random stream.

    Built in every notebook's setup cell.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fast_mode() -> bool:
    """True when ``NST_FAST`` is set to 1/true/yes: notebooks shrink sizes and step counts (CI sets it)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path:
    """The folder of sample images: ``NST_DATA`` if set, else ``data/`` at the repository root."""
    override = os.environ.get(DATA_ENV, "").strip()
    path = Path(override) if override else Path(__file__).resolve().parents[1] / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"the sample images folder {path} does not exist; set {DATA_ENV} to where data/ is")
    return path


def bf16_native(device: str | torch.device) -> bool:
    """Whether ``device`` computes bfloat16 in hardware: a CUDA GPU of compute capability 8.0 or newer.

    bfloat16 keeps float32's 8 exponent bits and drops mantissa bits to 7, so it covers the same range at
    about 3 significant digits. Older GPUs (T4, V100) only emulate it, slower than float32.
    """
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    return torch.cuda.get_device_capability(device) >= (8, 0)


def autocast_dtype(precision: str, device: str | torch.device) -> torch.dtype | None:
    """The autocast dtype of a run: bfloat16 for "bf16", and for "auto" on a GPU with native bf16; else None.

    Args:
        precision: "auto", "fp32" or "bf16".
        device: the run's device.

    Returns:
        ``torch.bfloat16``, or None for plain float32.
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    if precision == "auto":
        precision = "bf16" if bf16_native(device) else "fp32"
    return torch.bfloat16 if precision == "bf16" else None
