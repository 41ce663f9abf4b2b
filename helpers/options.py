"""The options of one optimisation run, checked once, frozen, and read by every part of the engine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from .vgg import TORCHVISION_INDEX, check_layers

__all__ = ["StyleOptions", "layer_weights", "UNITS", "INITS", "DEFAULT_CONTENT_LAYERS", "DEFAULT_STYLE_LAYERS"]

UNITS = ("balanced", "raw")
INITS = ("content", "noise", "style", "fast")
DEFAULT_CONTENT_LAYERS = MappingProxyType({"relu4_2": 1.0})
DEFAULT_STYLE_LAYERS = MappingProxyType({name: 1.0 for name in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")})
_DEFAULT_STEPS = {"lbfgs": 150, "adam": 300}
_CHOICES = {
    "optimizer": ("lbfgs", "adam"),
    "pooling": ("max", "avg"),
    "precision": ("auto", "fp32", "bf16"),
    "weights": ("caffe", "caffe-normalized", "torchvision"),
    "units": UNITS,
}


def layer_weights(
    spec: str | Sequence[str] | Mapping[str, float], what: str, allow_empty: bool = False
) -> dict[str, float]:
    """Layer name -> weight from a name (weight 1), a list (equal weights) or a mapping, checked.

    Args:
        spec: "relu4_2", ["relu1_1", "relu2_1"] (each 1/n, the paper's w_l) or {"relu1_1": 2.0, ...}.
        what: the argument's name, for error messages.
        allow_empty: accept no layers at all (a run with no term of this kind).

    Returns:
        A new dict; every weight finite and non-negative, and unless empty at least one above zero.
    """
    if isinstance(spec, str):
        spec = {spec: 1.0}
    elif not isinstance(spec, Mapping):
        names = list(spec)
        spec = {name: 1.0 / len(names) for name in names}
    check_layers(spec, what)
    weights = {name: float(weight) for name, weight in spec.items()}
    if not weights and allow_empty:
        return weights
    if not weights:
        raise ValueError(f"{what} is empty: name at least one layer (e.g. {dict(DEFAULT_STYLE_LAYERS)})")
    bad = {name: w for name, w in weights.items() if not (math.isfinite(w) and w >= 0)}
    if bad:
        raise ValueError(f"{what}: layer weights must be finite and non-negative, got {bad}")
    if not any(weights.values()):
        raise ValueError(f"{what}: every layer weight is 0; give at least one layer a weight above 0")
    return weights


def _check_number(name: str, value: float, low: float, inclusive: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (value == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


@dataclass(frozen=True)
class StyleOptions:
    """Everything that decides what a ``stylize`` or ``reconstruct`` run computes, checked when it is made.

    The loss weights are read in ``units``: "balanced" divides every term by its own target's mean square
    (so a candidate whose features are all zero scores 1 on each term, α/β = 1 balances content and style,
    and equal layer weights balance the layers); "raw" uses the plain means, as notebooks 01-04 build them.
    ``stylize`` documents each field.

    Built in notebooks/04_style_transfer.ipynb.
    """

    content_layers: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CONTENT_LAYERS))
    style_layers: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STYLE_LAYERS))
    content_weight: float = 0.1
    style_weight: float = 1.0
    tv_weight: float = 0.01
    units: str = "balanced"
    init: Any = "content"
    optimizer: str = "lbfgs"
    steps: int | None = None
    lr: float = 0.02
    size: int | None = None
    style_scale: float = 1.0
    seed: int = 0
    callback_every: int = 10
    pooling: str = "max"
    weights: str = "caffe"
    precision: str = "auto"
    pyramid: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "content_layers", layer_weights(self.content_layers, "content_layers", True))
        object.__setattr__(self, "style_layers", layer_weights(self.style_layers, "style_layers", True))
        if not self.content_layers and not self.style_layers:
            raise ValueError("content_layers and style_layers are both empty: name at least one layer")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {getattr(self, name)!r}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            _check_number(name, getattr(self, name), 0.0, inclusive=True)
        _check_number("lr", self.lr, 0.0, inclusive=False)
        _check_number("style_scale", self.style_scale, 0.0, inclusive=False)
        steps = _DEFAULT_STEPS[self.optimizer] if self.steps is None else self.steps
        for name, value in (("steps", steps), ("callback_every", self.callback_every), ("pyramid", self.pyramid)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1):
            raise ValueError(f"size must be a whole number of pixels (the longest side), got {self.size!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative whole number, got {self.seed!r}")
        if not hasattr(self.init, "shape") and not (isinstance(self.init, str) and self.init in INITS):
            raise ValueError(f"init must be one of {', '.join(map(repr, INITS))} or an image tensor, got {self.init!r}")
        object.__setattr__(self, "steps", steps)

    @property
    def deepest_layer(self) -> str:
        """The deepest layer any term reads: it sets the smallest image the run accepts."""
        return max([*self.content_layers, *self.style_layers], key=TORCHVISION_INDEX.__getitem__)

    def updated(self, **changes: Any) -> StyleOptions:
        """A checked copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The options as plain values (an image ``init`` becomes its shape), for records and cache keys."""
        values = asdict(self)
        if not isinstance(self.init, str):
            values["init"] = f"image {tuple(self.init.shape)}"
        return values

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in order."""
        return tuple(f.name for f in fields(cls))

    def failure_hint(self) -> str:
        """The likely cause of a non-finite loss, for the error message."""
        if self.optimizer == "adam":
            cause = f"a learning rate too high for Adam (lr={self.lr:g}), or loss weights too large"
        else:
            cause = "loss weights so large that the loss overflows float32"
        return (
            f"Likely cause: {cause} (content_weight={self.content_weight:g}, style_weight={self.style_weight:g}, "
            f"tv_weight={self.tv_weight:g}, units={self.units!r}, precision={self.precision!r})."
        )
