"""Neural style transfer by optimisation (Gatys et al. 2016): ``stylize`` and ``reconstruct``.

Loss units, all independent of the image size: content is the mean squared difference of features,
style the mean squared difference of Gram matrices F Fᵀ / (H W) (4 E_l in the paper's notation),
tv the mean squared difference of neighbouring pixels in [0, 1] units. The paper's α/β ≈ 1e-3 does
not carry over: its content loss is a sum (2 N M times our mean) and its VGG was rescaled to unit
mean activations, while the Caffe weights here have much larger deep activations, so the style term
is large. The defaults (content 1, style 1e-4, TV 1e6) were chosen by looking at 256 px results:
the photo stays recognisable and the painting's strokes and colours are clearly there.
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .errors import DeviceMemoryError
from .objective import StyleObjective
from .optim import Level, Session, StopRun, live_preview, run_adam, run_lbfgs
from .plan import (autocast_dtype, cached_extractor, check_image, failure_hint, layer_weights, plan_levels,
                   resize_to, smaller_size, start_image, uses_channels_last)
from .vgg import TORCHVISION_INDEX, VGGFeatures

__all__ = ["StyleResult", "stylize", "reconstruct", "live_preview", "DEFAULT_CONTENT_LAYERS", "DEFAULT_STYLE_LAYERS"]

DEFAULT_CONTENT_LAYERS = {"relu4_2": 1.0}
DEFAULT_STYLE_LAYERS = {"relu1_1": 0.2, "relu2_1": 0.2, "relu3_1": 0.2, "relu4_1": 0.2, "relu5_1": 0.2}
_DEFAULT_STEPS = {"lbfgs": 150, "adam": 300}
_COARSE_SHARE = 0.1
_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


@dataclass
class StyleResult:
    """What ``stylize`` and ``reconstruct`` return.

    Attributes:
        image: (1, 3, H, W) float32 in [0, 1]: the lowest-loss image of the run.
        history: one dict per step (one objective evaluation) with step, seconds, content, style,
            tv, total, style_layers (layer name -> unweighted loss) and size (H, W).
        stopped: "steps", "converged", "callback" or "interrupted".
    """

    image: Tensor
    history: list[dict] = field(default_factory=list)
    stopped: str = "steps"

    def __repr__(self) -> str:
        last = f", total={self.history[-1]['total']:.4g}" if self.history else ""
        shape = tuple(self.image.shape)
        return f"StyleResult(image={shape}, steps={len(self.history)}{last}, stopped={self.stopped!r})"


def _run(content: Tensor | None, styles: list[Tensor], blend: list[float], *, content_layers, style_layers,
         content_weight: float, style_weight: float, tv_weight: float, init, optimizer: str, steps: int | None,
         lr: float, size: int | None, style_scale: float, seed: int, callback, callback_every: int, pooling: str,
         weights: str, device, precision: str, pyramid: int, progress: bool, extractor) -> StyleResult:
    if optimizer not in _DEFAULT_STEPS:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
    steps = _DEFAULT_STEPS[optimizer] if steps is None else int(steps)
    if steps < 1 or callback_every < 1 or pyramid < 1:
        raise ValueError(f"steps, callback_every and pyramid must be at least 1, got {steps}, {callback_every}, "
                         f"{pyramid}")
    reference = content if content is not None else styles[0]
    device = torch.device(device) if device is not None else (extractor.mean.device if extractor else reference.device)
    amp_dtype = autocast_dtype(precision, device)
    size = size or (512 if device.type == "cuda" else 256)
    deepest = max([*content_layers, *style_layers], key=TORCHVISION_INDEX.__getitem__)
    plan = plan_levels(content.to(device) if content is not None else None, [style.to(device) for style in styles],
                       size, style_scale, pyramid, deepest)
    net = cached_extractor(extractor, weights, pooling, device)

    def objective(level_content: Tensor | None, level_styles: list[Tensor]) -> StyleObjective:
        return StyleObjective(net, level_content, level_styles, blend, content_layers, style_layers,
                              content_weight, style_weight, tv_weight, amp_dtype)

    first_content, first_styles = plan[0]
    shape = (first_content if first_content is not None else first_styles[0]).shape
    image = start_image(init, first_content, first_styles[0] if first_styles else None, shape, seed).to(device)
    hint = failure_hint(optimizer, lr, (content_weight, style_weight, tv_weight), precision)
    session = Session(steps, callback, callback_every, progress, hint)
    fast = torch.backends.cudnn.flags(enabled=True, benchmark=True) if device.type == "cuda" else nullcontext()
    try:
        with fast:
            image, stopped = _optimize(session, plan, objective, image, optimizer, lr, uses_channels_last(net),
                                       isinstance(init, str) and init == "content")
    except _OUT_OF_MEMORY as error:
        h, w = session.shape[-2:]
        raise DeviceMemoryError(
            f"{device} ran out of memory at {h}x{w} px (size={size}); try size={smaller_size(size)} or smaller"
            f"{', or precision=bf16' if amp_dtype is None and device.type == 'cuda' else ''} ({type(error).__name__})"
        ) from None
    finally:
        session.close()
    final = plan[-1][0] if plan[-1][0] is not None else plan[-1][1][0]
    if image.shape != final.shape:
        image = resize_to(image, final.shape)
    return StyleResult(image.detach().float().contiguous().clamp(0, 1), session.history, stopped)


def _optimize(session: Session, plan, objective, image: Tensor, optimizer: str, lr: float, channels_last: bool,
              keep_detail: bool) -> tuple[Tensor, str]:
    """Run each pyramid level from the previous level's best image; return the last best image and why it stopped.

    With ``keep_detail`` (a start from the content) a finer level starts from its own content image plus the
    upsampled change that the coarser level made, instead of a blurred upsampling of the coarse result.
    """
    level, stopped, previous = None, "steps", None
    try:
        for index, (level_content, level_styles) in enumerate(plan):
            shape = (level_content if level_content is not None else level_styles[0]).shape
            session.shape = shape
            if image.shape != shape:
                if keep_detail and previous is not None:  # the coarse change, on the content's own fine detail
                    image = (resize_to(image - previous, shape) + level_content).clamp(0, 1)
                else:
                    image = resize_to(image, shape).clamp(0, 1)
            previous = level_content
            budget = session.steps if index == len(plan) - 1 else round(session.steps * _COARSE_SHARE)
            level = Level(session, objective(level_content, level_styles), tuple(shape), channels_last, budget)
            try:
                if optimizer == "lbfgs":
                    run_lbfgs(level, level.to_flat(image))
                else:
                    run_adam(level, level.to_flat(image), lr)
            except StopRun as stop:
                stopped = stop.reason
            image = level.best_image if level.best_image is not None else image
            if stopped == "callback":
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
        if level is not None and level.best_image is not None:
            image = level.best_image
    return image, stopped


def stylize(
    content_image: Tensor,
    style_image: Tensor | Sequence[Tensor],
    *,
    content_layers: str | Sequence[str] | Mapping[str, float] = DEFAULT_CONTENT_LAYERS,
    style_layers: Sequence[str] | Mapping[str, float] = DEFAULT_STYLE_LAYERS,
    content_weight: float = 1.0,
    style_weight: float = 1e-4,
    tv_weight: float = 1e6,
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
        content_image: (1, 3, H, W) in [0, 1]; the result keeps its aspect ratio.
        style_image: (1, 3, H', W') in [0, 1], any size and aspect ratio, or a list of such images.
        content_layers: layer name, list of names, or name -> weight.
        style_layers: list of names (equal weights summing to 1) or name -> weight w_l.
        content_weight, style_weight, tv_weight: α, β and the smoothness weight.
        init: "content", "noise", "style" or a (1, 3, h, w) image to start from.
        optimizer: "lbfgs" or "adam" (``lr`` is Adam's step size in [0, 1] pixel units).
        steps: objective evaluations in all levels (default 150 for L-BFGS, 300 for Adam).
        size: longest side of the result in pixels (default 256 on a CPU, 512 on a GPU).
        style_scale: the style image's longest side as a multiple of ``size``.
        seed: seeds the noise start; the same seed on the same machine gives the same image.
        callback: ``callback(step, image, record)`` every ``callback_every`` steps; returning False stops.
        style_blend_weights: one weight per style image (default equal); they are normalised to sum to 1.
        pooling, weights: passed to ``load_vgg19`` (ignored when ``extractor`` is given).
        device: where to run (default: the extractor's device, else the content image's).
        precision: "auto" (bf16 autocast on CUDA, else fp32), "fp32" or "bf16".
        pyramid: number of sizes, coarse to fine, each half the next (levels too small for the layers are
            skipped); each coarser level gets a tenth of ``steps``. 1 optimises at ``size`` only; 3 is
            the fast choice for large images or a style-heavy objective.
        progress: show a ``tqdm`` progress bar.
        extractor: a ``VGGFeatures`` to use instead of a cached one.

    Returns:
        A ``StyleResult`` with the lowest-loss image (on ``device``) and the history of every step.

    Built in notebooks/04_style_transfer.ipynb.
    """
    check_image(content_image, "content_image")
    styles = [style_image] if isinstance(style_image, Tensor) else list(style_image)
    for index, style in enumerate(styles):
        check_image(style, "style_image" if len(styles) == 1 else f"style_image[{index}]")
    blend = [1.0] * len(styles) if style_blend_weights is None else [float(b) for b in style_blend_weights]
    if not styles or len(blend) != len(styles) or min(blend) < 0 or sum(blend) <= 0:
        raise ValueError(f"give one non-negative blend weight per style image ({len(styles)}), "
                         f"got {style_blend_weights}")
    return _run(
        content_image, styles, [b / sum(blend) for b in blend],
        content_layers=layer_weights(content_layers, "content_layers"),
        style_layers=layer_weights(style_layers, "style_layers"),
        content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight, init=init,
        optimizer=optimizer, steps=steps, lr=lr, size=size, style_scale=style_scale, seed=seed,
        callback=callback, callback_every=callback_every, pooling=pooling, weights=weights, device=device,
        precision=precision, pyramid=pyramid, progress=progress, extractor=extractor,
    )


def reconstruct(
    image: Tensor,
    content_layer: str | None = None,
    style_layers: Sequence[str] | Mapping[str, float] | None = None,
    *,
    init: str | Tensor = "noise",
    **options,
) -> StyleResult:
    """Rebuild an image from noise out of one layer's features or a set of layers' Gram matrices (Fig. 1).

    Args:
        image: (1, 3, H, W) in [0, 1].
        content_layer: match this layer's features (content reconstruction); default "relu4_2".
        style_layers: match these layers' Gram matrices instead (style reconstruction, texture synthesis).
        init: the start; white noise by default, as in the paper.
        **options: ``stylize``'s keyword options (steps, size, seed, optimizer, callback, ...);
            content_weight and style_weight default to 1, tv_weight to 0.

    Returns:
        A ``StyleResult``; its "content" or "style" column is the distance being minimised.

    Built in notebooks/03_layer_reconstructions.ipynb.
    """
    check_image(image, "image")
    if content_layer is not None and style_layers is not None:
        raise ValueError("give content_layer or style_layers, not both")
    allowed = {name: p.default for name, p in inspect.signature(stylize).parameters.items()
               if p.kind is p.KEYWORD_ONLY and name not in ("content_layers", "style_layers", "style_blend_weights")}
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"reconstruct() got unexpected option(s) {unknown}")
    options = {**allowed, "content_weight": 1.0, "style_weight": 1.0, "tv_weight": 0.0, **options, "init": init}
    if style_layers is None:
        layers = layer_weights(content_layer or "relu4_2", "content_layer")
        return _run(image, [], [], content_layers=layers, style_layers={}, **options)
    return _run(None, [image], [1.0], content_layers={}, style_layers=layer_weights(style_layers, "style_layers"),
                **options)

