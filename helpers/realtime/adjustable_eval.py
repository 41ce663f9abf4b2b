"""Does the adjustable network do what its sliders say? Scores on held-out pairs, with the objective it was trained on.

Every number here comes from ``helpers.objective.StyleObjective`` in balanced units (content relu4_2, TV 0.01,
the setting's layer weights): the per-layer terms of ``parts["style_layers"]``, the content term, the total.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ..engine import stylize
from ..images import load_image, resize_image
from ..runtime import data_dir
from ..vgg import cached_vgg19
from .adjustable import STYLE_LAYERS, TV_WEIGHT, adjustable_stylize
from .adjustable_train import Setting, setting_objective
from .api import load_transformer, style_embedding

__all__ = [
    "HELD_OUT_PAINTINGS",
    "HELD_OUT_PHOTOS",
    "Pair",
    "best_embedding",
    "content_control",
    "held_out_pairs",
    "latency",
    "layer_control",
    "lbfgs_comparison",
    "score",
]

HELD_OUT_PHOTOS = ("grace_hopper.jpg",)
HELD_OUT_PAINTINGS = ("the_scream.jpg", "woman_with_a_hat.jpg")


@dataclass
class Pair:
    """A photo and a painting at one size (the painting's longest side = the photo's, as ``stylize`` scales it)."""

    name: str
    content: Tensor
    style: Tensor
    embedding: Tensor


def held_out_pairs(size: int, device: str | torch.device = "cpu") -> list[Pair]:
    """Every held-out photo with every held-out painting, the photo's longest side ``size`` px."""
    pairs = []
    for photo in HELD_OUT_PHOTOS:
        content = resize_image(load_image(data_dir() / photo), size).to(device)
        for painting in HELD_OUT_PAINTINGS:
            style = resize_image(load_image(data_dir() / painting), size).to(device)
            name = f"{photo.split('.')[0]} + {painting.split('.')[0]}"
            pairs.append(Pair(name, content, style, style_embedding(style)))
    return pairs


def score(pair: Pair, image: Tensor, setting: Setting) -> dict:
    """The objective's total and parts for ``image`` under ``setting`` (β = 1, α = setting.ratio)."""
    objective = setting_objective(cached_vgg19(device=pair.content.device), pair.content, pair.style, setting)
    with torch.no_grad():
        total, parts = objective(image)
    return {
        "total": float(total),
        "content": float(parts["content"]),
        "style": float(parts["style"]),
        "tv": float(parts["tv"]),
        "style_layers": dict(zip(setting.style_layers, parts["style_layers"].tolist())),
    }


def _network(pair: Pair, setting: Setting) -> Tensor:
    return adjustable_stylize(
        pair.content, embedding=pair.embedding, style_layers=dict(setting.style_layers), content_weight=setting.ratio
    )


def best_embedding(pair: Pair, setting: Setting, steps: int = 40, lr: float = 0.05) -> Tensor:
    """The embedding that the frozen transformer paints this pair best with under ``setting``: Adam on the 100
    numbers alone, from the painting's own embedding, on the objective's total (the ceiling of any network that
    only moves the embedding, for this one pair).

    Returns:
        (1, 100) float32, detached.
    """
    transformer = load_transformer(pair.content.device)
    objective = setting_objective(cached_vgg19(device=pair.content.device), pair.content, pair.style, setting)
    embedding = pair.embedding.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([embedding], lr=lr)
    for _ in range(steps):
        loss = objective(transformer(pair.content, embedding).contiguous())[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return embedding.detach()


def layer_control(pairs: Sequence[Pair], low: float = 0.1, high: float = 10.0, ratio: float = 0.1) -> list[dict]:
    """For each pair and layer: that layer's term when its weight is ``low`` and when it is ``high`` (others 1).

    Returns:
        One row per (pair, layer) with "pair", "layer", "low", "high" (the terms) and "falls" (high < low).
    """
    rows = []
    for pair in pairs:
        for layer in STYLE_LAYERS:
            terms = []
            for weight in (low, high):
                setting = Setting(ratio, {name: weight if name == layer else 1.0 for name in STYLE_LAYERS})
                terms.append(score(pair, _network(pair, setting), setting)["style_layers"][layer])
            rows.append(
                {"pair": pair.name, "layer": layer, "low": terms[0], "high": terms[1], "falls": terms[1] < terms[0]}
            )
    return rows


def content_control(
    pairs: Sequence[Pair], ratios: Iterable[float] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
) -> list[dict]:
    """The content term (and the style term) of the network's output at each α/β, equal layer weights."""
    rows = []
    for pair in pairs:
        for ratio in ratios:
            setting = Setting(ratio, {name: 1.0 for name in STYLE_LAYERS})
            parts = score(pair, _network(pair, setting), setting)
            rows.append({"pair": pair.name, "ratio": ratio, "content": parts["content"], "style": parts["style"]})
    return rows


def _time_limit(seconds: float):
    def stop(step: int, image: Tensor, record: dict) -> bool:
        return record["seconds"] < seconds

    return stop


def lbfgs_comparison(pair: Pair, setting: Setting, budgets: Sequence[float] = (1.0, 5.0, 20.0)) -> dict:
    """The network's total loss next to ``helpers.stylize`` (L-BFGS from the photo) stopped after each budget.

    Each budget is its own run, stopped by a callback once its clock (which counts the targets' computation)
    passes the budget; both images are scored by the same ``StyleObjective`` at the pair's size.

    Returns:
        "network" (total, seconds) and "lbfgs": one row per budget with total, seconds and steps.
    """
    began = time.perf_counter()
    image = adjustable_stylize(
        pair.content, pair.style, style_layers=dict(setting.style_layers), content_weight=setting.ratio
    )
    seconds = time.perf_counter() - began
    network = {"total": score(pair, image, setting)["total"], "seconds": seconds}
    runs = []
    for budget in budgets:
        result = stylize(
            pair.content,
            pair.style,
            style_layers=dict(setting.style_layers),
            content_weight=setting.ratio,
            style_weight=1.0,
            tv_weight=TV_WEIGHT,
            size=max(pair.content.shape[-2:]),
            steps=100_000,
            callback=_time_limit(budget),
            callback_every=1,
            progress=False,
        )
        runs.append(
            {
                "budget": budget,
                "total": score(pair, result.image, setting)["total"],
                "seconds": result.history[-1]["seconds"],
                "steps": len(result.history),
            }
        )
    return {
        "pair": pair.name,
        "setting": {"ratio": setting.ratio, **setting.style_layers},
        "network": network,
        "lbfgs": runs,
    }


def latency(
    content_image: Tensor,
    style_image: Tensor,
    repeats: int = 7,
    style_layers: Mapping[str, float] | None = None,
    content_weight: float = 0.1,
) -> dict:
    """Median seconds of ``adjustable_stylize`` with the painting (predictor included) and with its embedding
    computed once (what a slider move costs), after one warm-up call."""
    layers = dict(style_layers or {name: 1.0 for name in STYLE_LAYERS})
    embedding = style_embedding(style_image)
    calls = {
        "with_predictor": lambda: adjustable_stylize(
            content_image, style_image, style_layers=layers, content_weight=content_weight
        ),
        "slider_move": lambda: adjustable_stylize(
            content_image, embedding=embedding, style_layers=layers, content_weight=content_weight
        ),
    }
    medians = {}
    for name, call in calls.items():
        call()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        medians[name] = statistics.median(times)
    return medians
