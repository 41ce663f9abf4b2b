"""Neural style transfer by optimisation (Gatys et al. 2016): ``stylize`` and ``reconstruct``.

A run reads in three files: this one (the options, the pyramid levels, the result), ``optim`` (the loop:
torch's L-BFGS or Adam over the pixels) and ``objective`` (the loss). The loss weights are read in the
balanced units of ``StyleObjective`` by default: every term divided by its own target's mean square, so
α/β = 1 and equal layer weights mean balanced terms for any image, size or weights file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .errors import DeviceMemoryError
from .images import as_image
from .objective import StyleObjective
from .optim import Problem, Recorder, live_preview, run_adam, run_lbfgs
from .options import DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, StyleOptions
from .pyramid import carry_over, plan_levels, resize_to, start_image
from .runtime import autocast_dtype
from .vgg import VGGFeatures, cached_vgg19, uses_channels_last

__all__ = [
    "StyleResult",
    "StyleOptions",
    "stylize",
    "reconstruct",
    "live_preview",
    "DEFAULT_CONTENT_LAYERS",
    "DEFAULT_STYLE_LAYERS",
]

_COARSE_SHARE = 0.1
_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


@dataclass
class StyleResult:
    """What ``stylize`` and ``reconstruct`` return.

    Attributes:
        image: (1, 3, H, W) float32 in [0, 1]: the lowest-loss image of the run.
        history: one dict per step (one objective evaluation) with step, seconds, content, style and tv (the
            terms before their weights), total, style_layers (layer name -> that layer's loss) and size (H, W).
        stopped: "steps", "converged", "callback" or "interrupted".
        options: the ``StyleOptions`` of the run.
    """

    image: Tensor
    history: list[dict] = field(default_factory=list)
    stopped: str = "steps"
    options: StyleOptions | None = None

    def __repr__(self) -> str:
        last = f", total={self.history[-1]['total']:.4g}" if self.history else ""
        shape = tuple(self.image.shape)
        return f"StyleResult(image={shape}, steps={len(self.history)}{last}, stopped={self.stopped!r})"


def smaller_size(size: int) -> int:
    """A size with about half the pixels, rounded down to a multiple of 16, to suggest after running out of memory."""
    return max(16, int(size / 2**0.5) // 16 * 16)


def run(
    content: Tensor | None,
    styles: list[Tensor],
    blend: list[float],
    options: StyleOptions,
    callback: Callable | None = None,
    extractor: VGGFeatures | None = None,
    device: str | torch.device | None = None,
) -> StyleResult:
    """Optimise the pixels for ``options``: the engine behind ``stylize`` and ``reconstruct``.

    Args:
        content: (1, 3, H, W) in [0, 1], or None for a style-only run.
        styles: style images (an empty list for a content-only run); ``blend`` holds their shares.
        options: the checked run options.
        callback, extractor, device: as in ``stylize``.
    """
    reference = content if content is not None else styles[0]
    device = torch.device(device) if device is not None else (extractor.mean.device if extractor else reference.device)
    amp_dtype = autocast_dtype(options.precision, device)
    size = options.size or (512 if device.type == "cuda" else 256)
    plan = plan_levels(
        content.to(device) if content is not None else None,
        [style.to(device) for style in styles],
        size,
        options.style_scale,
        options.pyramid,
        options.deepest_layer,
    )
    net = extractor if extractor is not None else cached_vgg19(options.weights, options.pooling, device)
    first_content, first_styles = plan[0]
    shape = (first_content if first_content is not None else first_styles[0]).shape
    image = start_image(options.init, first_content, first_styles[0] if first_styles else None, shape, options.seed)
    recorder = Recorder(options.steps, callback, options.callback_every, options.progress, options.failure_hint())
    fast = torch.backends.cudnn.flags(enabled=True, benchmark=True) if device.type == "cuda" else nullcontext()
    try:
        with fast:
            image, stopped = _optimize(recorder, plan, net, blend, options, amp_dtype, image.to(device))
    except _OUT_OF_MEMORY as error:
        h, w = recorder.shape[-2:]
        raise DeviceMemoryError(
            f"{device} ran out of memory at {h}x{w} px (size={size}); try size={smaller_size(size)} or smaller"
            f"{', or precision=bf16' if amp_dtype is None and device.type == 'cuda' else ''} ({type(error).__name__})"
        ) from None
    finally:
        recorder.close()
    final = plan[-1][0] if plan[-1][0] is not None else plan[-1][1][0]
    if image.shape[-2:] != final.shape[-2:]:
        image = resize_to(image, final.shape)
    return StyleResult(image.detach().float().contiguous().clamp(0, 1), recorder.history, stopped, options)


def _optimize(
    recorder: Recorder, plan, net: VGGFeatures, blend: list[float], options: StyleOptions, amp_dtype, image: Tensor
) -> tuple[Tensor, str]:
    """Run each pyramid level from the previous level's best image; return the last best image and why it stopped.

    With ``init="content"`` a finer level starts from its own content image plus the upsampled change that the
    coarser level made, instead of a blurred upsampling of the coarse result.
    """
    problem, stopped, previous = None, "steps", None
    keep_detail = isinstance(options.init, str) and options.init == "content"
    try:
        for index, (level_content, level_styles) in enumerate(plan):
            shape = (level_content if level_content is not None else level_styles[0]).shape
            recorder.shape = shape
            if image.shape[-2:] != shape[-2:]:
                image = carry_over(image, shape, previous, level_content) if keep_detail else carry_over(image, shape)
            previous = level_content
            budget = options.steps if index == len(plan) - 1 else round(options.steps * _COARSE_SHARE)
            objective = StyleObjective(net, level_content, level_styles, options, blend, amp_dtype)
            problem = Problem(recorder, objective, image, uses_channels_last(net), budget)
            if options.optimizer == "lbfgs":
                stopped = run_lbfgs(problem)
            else:
                stopped = run_adam(problem, options.lr)
            image = problem.best_image if problem.best_image is not None else image
            if stopped == "callback":
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
        if problem is not None and problem.best_image is not None:
            image = problem.best_image
    return image, stopped


def _styles(
    style_image: Tensor | Sequence[Tensor], blend_weights: Sequence[float] | None
) -> tuple[list[Tensor], list[float]]:
    """The style images, checked, and their blend shares summing to 1."""
    many = not isinstance(style_image, Tensor) or style_image.dim() == 4 and style_image.shape[0] > 1
    styles = list(style_image) if many else [style_image]
    if not styles:
        raise ValueError("style_image is empty: give at least one style image")
    styles = [as_image(s, f"style_image[{i}]" if len(styles) > 1 else "style_image") for i, s in enumerate(styles)]
    blend = [1.0] * len(styles) if blend_weights is None else [float(b) for b in blend_weights]
    if len(blend) != len(styles) or not all(b >= 0 for b in blend) or not sum(blend) > 0:
        raise ValueError(
            f"style_blend_weights: give one non-negative weight per style image ({len(styles)}), "
            f"not all zero; got {blend_weights}"
        )
    return styles, [b / sum(blend) for b in blend]


def stylize(
    content_image: Tensor,
    style_image: Tensor | Sequence[Tensor],
    *,
    content_layers: str | Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    content_weight: float = 0.1,
    style_weight: float = 1.0,
    tv_weight: float = 0.01,
    units: str = "balanced",
    init: str | Tensor = "content",
    optimizer: str = "lbfgs",
    steps: int | None = None,
    lr: float = 0.02,
    size: int | None = None,
    style_scale: float = 1.0,
    seed: int = 0,
    callback: Callable[[int, Tensor, dict], object] | None = None,
    callback_every: int = 10,
    style_blend_weights: Sequence[float] | None = None,
    pooling: str = "max",
    weights: str = "caffe",
    device: str | torch.device | None = None,
    precision: str = "auto",
    pyramid: int = 1,
    progress: bool = True,
    extractor: VGGFeatures | None = None,
) -> StyleResult:
    """Paint ``content_image`` in the style of ``style_image`` by optimising the pixels (Gatys et al. 2016).

    Args:
        content_image: (1, 3, H, W) or (3, H, W), float in [0, 1] or uint8; the result keeps its aspect ratio.
        style_image: an image like the content, any size and aspect ratio, or a list of them.
        content_layers: layer name, list of names, or name -> weight.
        style_layers: list of names (equal weights) or name -> weight w_l (relative: the style term is their
            weighted mean in balanced units); the default weighs relu1_1 ... relu5_1 equally.
        content_weight, style_weight, tv_weight: α, β and the smoothness weight, read in ``units``. In balanced
            units α/β = 1 makes the two terms end about equal; the default 0.1 leans to the painting, and
            tv_weight 0.01 removes the pixel-scale speckle (the photo's own roughness scores 1).
        units: "balanced" (each term divided by its target's mean square: α/β = 1 balances content and
            style) or "raw" (plain means of squared differences, as notebooks 01-04 build them).
        init: "content", "noise", "style", "fast" (the real-time network's stylisation of the photo, notebook 06)
            or an image to start from.
        optimizer: "lbfgs" or "adam" (``lr`` is Adam's step size in [0, 1] pixel units).
        steps: objective evaluations in all levels (default 150 for L-BFGS, 300 for Adam); an L-BFGS
            iteration in progress when the budget runs out is finished.
        size: longest side of the result in pixels (default 256 on a CPU, 512 on a GPU).
        style_scale: the style image's longest side as a multiple of ``size``.
        seed: seeds the noise start; the same seed on the same machine gives the same image.
        callback: ``callback(step, image, record)`` every ``callback_every`` steps; returning False stops.
        style_blend_weights: one weight per style image (default equal); they are normalised to sum to 1.
        pooling, weights: passed to ``load_vgg19`` (ignored when ``extractor`` is given).
        device: where to run (default: the extractor's device, else the content image's).
        precision: "auto" (bf16 autocast on a GPU that computes it natively, else fp32), "fp32" or "bf16".
        pyramid: number of sizes, coarse to fine, each half the next (levels too small for the layers are
            skipped); each coarser level gets a tenth of ``steps``. 1 optimises at ``size`` only.
        progress: show a ``tqdm`` progress bar.
        extractor: a ``VGGFeatures`` to use instead of the shared channels-last one.

    Returns:
        A ``StyleResult`` with the lowest-loss image (on ``device``) and the history of every step.

    Built in notebooks/04_style_transfer.ipynb.
    """
    content_image = as_image(content_image, "content_image")
    styles, blend = _styles(style_image, style_blend_weights)
    for name, layers in (("content_layers", content_layers), ("style_layers", style_layers)):
        if not isinstance(layers, str) and len(layers) == 0:
            raise ValueError(f"{name} is empty: stylize needs at least one layer for each term")
    options = StyleOptions(
        content_layers=content_layers,
        style_layers=style_layers,
        content_weight=content_weight,
        style_weight=style_weight,
        tv_weight=tv_weight,
        units=units,
        init=init,
        optimizer=optimizer,
        steps=steps,
        lr=lr,
        size=size,
        style_scale=style_scale,
        seed=seed,
        callback_every=callback_every,
        pooling=pooling,
        weights=weights,
        precision=precision,
        pyramid=pyramid,
        progress=progress,
    )
    return run(content_image, styles, blend, options, callback, extractor, device)


def reconstruct(
    image: Tensor,
    content_layer: str | None = None,
    style_layers: Sequence[str] | Mapping[str, float] | None = None,
    *,
    init: str | Tensor = "noise",
    callback: Callable[[int, Tensor, dict], object] | None = None,
    extractor: VGGFeatures | None = None,
    device: str | torch.device | None = None,
    **options,
) -> StyleResult:
    """Rebuild an image from noise out of one layer's features or a set of layers' Gram matrices (Fig. 1).

    Args:
        image: (1, 3, H, W) in [0, 1].
        content_layer: match this layer's features (content reconstruction); default "relu4_2".
        style_layers: match these layers' Gram matrices instead (style reconstruction, texture synthesis).
        init: the start; white noise by default, as in the paper.
        callback, extractor, device: as in ``stylize``.
        **options: other ``StyleOptions`` fields (steps, size, seed, optimizer, units, ...); tv_weight is 0
            unless given.

    Returns:
        A ``StyleResult``; its "content" or "style" column is the distance being minimised.

    Built in notebooks/03_layer_reconstructions.ipynb.
    """
    image = as_image(image, "image")
    if content_layer is not None and style_layers is not None:
        raise ValueError("give content_layer or style_layers, not both")
    unknown = sorted(set(options) - set(StyleOptions.names()) | set(options) & {"content_layers"})
    if unknown:
        raise TypeError(f"reconstruct() got unexpected option(s) {unknown}; it takes {list(StyleOptions.names())}")
    options.setdefault("tv_weight", 0.0)
    if style_layers is None:
        settings = StyleOptions(**options, init=init, content_layers=content_layer or "relu4_2", style_layers={})
        return run(image, [], [], settings, callback, extractor, device)
    if not isinstance(style_layers, str) and len(style_layers) == 0:
        raise ValueError("style_layers is empty: name at least one layer to match Gram matrices at")
    settings = StyleOptions(**options, init=init, content_layers={}, style_layers=style_layers)
    return run(None, [image], [1.0], settings, callback, extractor, device)
