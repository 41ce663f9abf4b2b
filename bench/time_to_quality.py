"""Time to the seed's quality: the seed article's Adam loop against ``helpers.stylize`` on one objective.

The objective is the one the seed's code computes: mean squared difference of relu4_2 features
(the seed calls it conv4_2, but torchvision's in-place ReLUs overwrite the stored tensor), plus
1e6 x sum over relu1_1..relu5_1 of w_l x mean((G - A)^2) / (d h w) with raw Gram matrices G = F Fᵀ
and w = 1, 0.75, 0.2, 0.2, 0.2. ``seed_loss`` is the one function that scores both contenders.

Run ``python bench/time_to_quality.py`` (256 px, 2000 seed steps) or ``--quick`` (128 px, 300 steps).
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import datetime
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402

SEED_STYLE_WEIGHTS = {"relu1_1": 1.0, "relu2_1": 0.75, "relu3_1": 0.2, "relu4_1": 0.2, "relu5_1": 0.2}
SEED_CONTENT_LAYER = "relu4_2"
SEED_CONTENT_WEIGHT, SEED_STYLE_WEIGHT, SEED_LR = 1.0, 1e6, 0.003
IMAGENET_MEAN = torch.tensor(helpers.IMAGENET_MEAN).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor(helpers.IMAGENET_STD).view(1, 3, 1, 1)


def raw_gram(features: Tensor) -> Tensor:
    """The seed's Gram matrix: F Fᵀ of the (d, h*w) feature matrix, no normalisation."""
    _, d, h, w = features.shape
    flat = features.reshape(d, h * w)
    return flat @ flat.t()


def seed_loss(features: dict[str, Tensor], content_target: Tensor, style_grams: dict[str, Tensor]) -> Tensor:
    """The seed's total loss from a candidate's features: the one scoring function of this benchmark."""
    content = torch.mean((features[SEED_CONTENT_LAYER] - content_target) ** 2)
    style = 0.0
    for name, weight in SEED_STYLE_WEIGHTS.items():
        _, d, h, w = features[name].shape
        style = style + weight * torch.mean((raw_gram(features[name]) - style_grams[name]) ** 2) / (d * h * w)
    return SEED_CONTENT_WEIGHT * content + SEED_STYLE_WEIGHT * style


class SeedObjective:
    """The seed's loss of any [0, 1] image against fixed content and style targets (no gradients)."""

    layers = [*SEED_STYLE_WEIGHTS, SEED_CONTENT_LAYER]

    def __init__(self, extractor: helpers.VGGFeatures, content_image: Tensor, style_image: Tensor) -> None:
        self.extractor = extractor
        with torch.no_grad():
            self.content_target = extractor(content_image, [SEED_CONTENT_LAYER])[SEED_CONTENT_LAYER]
            style = extractor(style_image, list(SEED_STYLE_WEIGHTS))
            self.style_grams = {name: raw_gram(value) for name, value in style.items()}

    def __call__(self, image: Tensor) -> float:
        with torch.no_grad():
            features = self.extractor(image.float(), self.layers)
            return float(seed_loss(features, self.content_target, self.style_grams))


def seed_style_layers(image: Tensor) -> dict[str, float]:
    """Per-layer weights that make ``helpers.stylize`` compute the seed's style term exactly.

    With G = F Fᵀ / (H W), the seed's w_l mean((G_raw - A_raw)^2) / (d h w) equals
    w_l (H W / d) mean((G - A)^2), so the helpers weight of layer l is w_l H W / d at this image size
    (the feature shapes come from ``helpers.analysis.layer_table``, without running the network).
    """
    rows = {row.name: row for row in helpers.analysis.layer_table(*image.shape[-2:], deepest="relu5_1")}
    return {name: w * rows[name].positions / rows[name].channels for name, w in SEED_STYLE_WEIGHTS.items()}


def seed_network(extractor: helpers.VGGFeatures) -> nn.Sequential:
    """VGG19 as the seed's torchvision model behaves: in-place ReLUs and weights that require gradients."""
    layers = copy.deepcopy(extractor.layers).to(memory_format=torch.contiguous_format)
    for module in layers:
        if isinstance(module, nn.ReLU):
            module.inplace = True
    return layers.requires_grad_(True)


def seed_features(network: nn.Sequential, extractor: helpers.VGGFeatures, image: Tensor) -> dict[str, Tensor]:
    """The seed's feature walk over every module of ``features``: its conv outputs, rectified in place by the ReLUs."""
    stored = {helpers.TORCHVISION_INDEX[name] - 1: name for name in SeedObjective.layers}
    features, x = {}, extractor.preprocess(image)
    for index, module in enumerate(network):
        x = module(x)
        if index in stored:
            features[stored[index]] = x
    return features


def run_seed(extractor, content, style, steps: int, frozen: bool = False, on_step=None) -> dict:
    """The seed's loop: Adam (lr 0.003) on the ImageNet-normalised image, initialised as the content."""
    began = time.perf_counter()
    network = seed_network(extractor).requires_grad_(not frozen)
    mean, std = IMAGENET_MEAN.to(content.device), IMAGENET_STD.to(content.device)
    with torch.no_grad():
        content_target = seed_features(network, extractor, content)[SEED_CONTENT_LAYER].clone()
        style_grams = {n: raw_gram(f) for n, f in seed_features(network, extractor, style).items()}
    target = ((content - mean) / std).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([target], lr=SEED_LR)
    step_times = []
    for step in range(1, steps + 1):
        started = time.perf_counter()
        loss = seed_loss(seed_features(network, extractor, target * std + mean), content_target, style_grams)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        _synchronize(content.device)
        step_times.append(time.perf_counter() - started)
        if on_step is not None:
            on_step(step, loss.item())
    return {"image": (target.detach() * std + mean), "seconds": time.perf_counter() - began, "step_times": step_times}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _MallInfo(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
    ]


def _cpu_bytes_in_use() -> int:
    """Bytes the C heap has handed out and not taken back (glibc's mallinfo2), where tensors live on a CPU."""
    info = _mallinfo2()
    return info.uordblks + info.hblkhd


try:
    _mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    _mallinfo2.restype = _MallInfo
except (OSError, AttributeError):  # not glibc 2.33+: peak memory is reported as None
    _mallinfo2 = None


class PeakMemory:
    """Peak memory a block allocates beyond what was in use before it: CUDA's allocator peak on a GPU,
    glibc's bytes in use sampled every 2 ms on a CPU (None where that is unavailable)."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak_mib = device, None

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        elif _mallinfo2 is not None:
            self.base = self.top = _cpu_bytes_in_use()
            self.running = True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.top = max(self.top, _cpu_bytes_in_use())
            time.sleep(0.002)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.peak_mib = (torch.cuda.max_memory_allocated() - self.base) / 2**20
        elif _mallinfo2 is not None:
            self.running = False
            self.thread.join()
            self.peak_mib = (self.top - self.base) / 2**20


def seed_options(extractor: helpers.VGGFeatures, content: Tensor) -> dict:
    """``helpers.stylize`` options that make its objective the seed's loss exactly."""
    return {
        "content_layers": {SEED_CONTENT_LAYER: 1.0},
        "style_layers": seed_style_layers(content),
        "content_weight": SEED_CONTENT_WEIGHT,
        "style_weight": SEED_STYLE_WEIGHT,
        "tv_weight": 0.0,
        "units": "raw",
        "init": "content",
        "optimizer": "lbfgs",
        "size": max(content.shape[-2:]),
        "progress": False,
        "extractor": extractor,
    }


def run_engine(
    extractor, content, style, objective: SeedObjective, target_loss: float, steps: int, pyramid: int, precision: str
) -> dict:
    """``helpers.stylize`` set to the seed's objective, stopped when ``seed_loss`` of its image reaches the target."""
    full, reached, scoring = tuple(content.shape[-2:]), {}, [0.0]
    options = seed_options(extractor, content)

    def check(step: int, image: Tensor, record: dict) -> bool:
        entered = time.perf_counter()
        try:
            if record["size"] != full or record["total"] > target_loss * 1.001:
                return True
            loss = objective(image)  # the shared scoring, not charged to stylize
            if loss <= target_loss:
                reached.update(
                    step=step, seconds=entered - began - scoring[0], loss=loss, engine_seconds=record["seconds"]
                )
                return False
            return True
        finally:
            scoring[0] += time.perf_counter() - entered

    began = time.perf_counter()  # from the call: resizing, targets and every pyramid level count
    result = helpers.stylize(
        content, style, **options, steps=steps, pyramid=pyramid, precision=precision, callback=check, callback_every=1
    )
    return {"result": result, "reached": reached, "final_loss": objective(result.image)}


def step_times(content, style, extractor, precisions: list[str], rounds: int = 5) -> dict[str, float]:
    """Median ms per step of each contender at full size, measured in alternation so that load changes hit all alike."""
    times: dict[str, list[float]] = {"seed": [], "seed_frozen": [], **{p: [] for p in precisions}}
    options = seed_options(extractor, content)
    run_seed(extractor, content, style, 1)  # warm-up: lazy imports, allocator, cuDNN's choice of kernels
    for precision in precisions:
        helpers.stylize(content, style, **options, steps=2, pyramid=3, precision=precision)
    for _ in range(rounds):  # the first step of each call is left out: it pays for allocating the buffers
        times["seed"] += run_seed(extractor, content, style, 3)["step_times"][1:]
        times["seed_frozen"] += run_seed(extractor, content, style, 3, frozen=True)["step_times"][1:]
        for precision in precisions:
            history = helpers.stylize(content, style, **options, steps=4, pyramid=1, precision=precision).history
            times[precision] += [b["seconds"] - a["seconds"] for a, b in zip(history[1:], history[2:])]
    return {name: _ms(values) for name, values in times.items()}


def seed_images(content: Tensor, style: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Content scaled to ``size`` px on its longest side, and the style stretched to the same height and width.

    The seed compares raw Gram sums, which only makes sense when both images have as many positions;
    it forced both to one shape, and so does this benchmark.
    """
    content = helpers.resize_image(content, size, upscale=True)
    style = F.interpolate(style, size=content.shape[-2:], mode="bicubic", align_corners=False, antialias=True)
    return content, style.clamp(0, 1)


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MiB"


def _steps_per_size(history: list[dict]) -> dict[str, int]:
    """How many evaluations the run spent at each pyramid size, coarse to fine, as {"HxW": count}."""
    counts: dict[str, int] = {}
    for record in history:
        key = "x".join(map(str, record["size"]))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _ms_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms/step"


def _ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


def compare(
    content,
    style,
    extractor,
    seed_steps: int,
    engine_steps: int,
    pyramid: int,
    precisions: list[str],
    device: torch.device,
) -> dict:
    """Run both contenders at one size on one device and return the numbers."""
    where = f"[{device} {content.shape[-2]}x{content.shape[-1]}]"
    objective = SeedObjective(extractor, content, style)
    per_step = step_times(content, style, extractor, precisions)

    def progress(step: int, loss: float) -> None:
        if step % 250 == 0:
            print(f"{where} seed loop: step {step}/{seed_steps}, loss {loss:.6g}", file=sys.stderr, flush=True)

    with PeakMemory(device) as memory:
        seed = run_seed(extractor, content, style, seed_steps, on_step=progress)
    seed_loss_value = objective(seed["image"])
    report = {
        "size": list(content.shape[-2:]),
        "device": str(device),
        "seed_steps": seed_steps,
        "seed_final_loss": seed_loss_value,
        "seed_final_loss_clipped": objective(seed["image"].clamp(0, 1)),
        "seed_seconds": seed["seconds"],
        "seed_ms_per_step_in_run": _ms(seed["step_times"]),
        "seed_ms_per_step": per_step["seed"],
        "seed_frozen_ms_per_step": per_step["seed_frozen"],
        "seed_peak_mib": memory.peak_mib,
        "engine": {},
    }
    print(
        f"{where} seed loop: {seed_steps} Adam steps in {seed['seconds']:.1f} s, final seed loss "
        f"{seed_loss_value:.6g} ({report['seed_final_loss_clipped']:.6g} clipped to [0, 1]), peak "
        f"{_mib(memory.peak_mib)}; {per_step['seed']:.0f} ms/step ({per_step['seed_frozen']:.0f} with frozen "
        f"weights); in the run {report['seed_ms_per_step_in_run']:.0f} ms/step",
        flush=True,
    )
    for precision in precisions:
        with PeakMemory(device) as memory:
            ours = run_engine(extractor, content, style, objective, seed_loss_value, engine_steps, pyramid, precision)
        reached = ours["reached"]
        history = ours["result"].history
        full_steps = [
            b["seconds"] - a["seconds"]
            for a, b in zip(history, history[1:])
            if a["size"] == b["size"] == tuple(content.shape[-2:])
        ]
        numbers = {
            "reached": bool(reached),
            "seconds_to_seed_quality": reached.get("seconds"),
            "steps_to_seed_quality": reached.get("step"),
            "seconds_on_the_engine_clock": reached.get("engine_seconds"),
            "ms_per_step": per_step[precision],
            "ms_per_step_in_run": _ms(full_steps) if full_steps else None,
            "steps_per_size": _steps_per_size(history),
            "final_loss": ours["final_loss"],
            "peak_mib": memory.peak_mib,
            "pyramid": pyramid,
            "speedup": seed["seconds"] / reached["seconds"] if reached else None,
            "step_speedup": per_step["seed"] / per_step[precision],
            "step_speedup_vs_frozen_seed": per_step["seed_frozen"] / per_step[precision],
        }
        report["engine"][precision] = numbers
        when = (
            f"seed quality in {reached['seconds']:.2f} s (step {reached['step']}, {numbers['speedup']:.1f}x faster)"
            if reached
            else f"did NOT reach seed quality in {engine_steps} steps (loss {ours['final_loss']:.6g})"
        )
        print(
            f"{where} helpers.stylize ({precision}, pyramid={pyramid}): {when}, peak {_mib(memory.peak_mib)}; "
            f"{per_step[precision]:.0f} ms/step ({numbers['step_speedup']:.2f}x faster than the seed's step, "
            f"{numbers['step_speedup_vs_frozen_seed']:.2f}x with its weights frozen); in the run "
            f"{_ms_text(numbers['ms_per_step_in_run'])} at full size, steps per size {numbers['steps_per_size']}",
            flush=True,
        )
    return report


def _cpu_model() -> str | None:
    """The CPU's name from /proc/cpuinfo (Linux), else None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "helpers": helpers.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 px against the seed's loss after 300 steps")
    parser.add_argument("--size", type=int, help="longest side in px (default 256, quick 128)")
    parser.add_argument("--seed-steps", type=int, help="Adam steps of the seed loop (default 2000, quick 300)")
    parser.add_argument("--steps", type=int, default=400, help="evaluation budget of helpers.stylize")
    parser.add_argument("--pyramid", type=int, default=3, help="pyramid levels of helpers.stylize")
    parser.add_argument("--content", default=str(ROOT / "data" / "chelsea.png"))
    parser.add_argument("--style", default=str(ROOT / "data" / "starry_night.jpg"))
    parser.add_argument("--weights", default="caffe", choices=["caffe", "torchvision"])
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's choice)")
    parser.add_argument("--no-gpu", action="store_true", help="skip the 512 px GPU section")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    size = args.size or (128 if args.quick else 256)
    seed_steps = args.seed_steps or (300 if args.quick else 2000)
    print(
        f"objective: the seed's loss on VGG19 with {args.weights} weights; content {Path(args.content).name}, "
        f"style {Path(args.style).name}",
        flush=True,
    )
    content_full, style_full = helpers.load_image(args.content), helpers.load_image(args.style)
    extractor = helpers.load_vgg19(args.weights).to(memory_format=torch.channels_last)  # as stylize caches it
    cpu = compare(
        *seed_images(content_full, style_full, size),
        extractor,
        seed_steps,
        args.steps,
        args.pyramid,
        ["fp32"],
        torch.device("cpu"),
    )
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "args": vars(args),
        "weights": args.weights,
        "cpu": cpu,
    }
    if torch.cuda.is_available() and not args.no_gpu:
        gpu = torch.device("cuda")
        content, style = (image.to(gpu) for image in seed_images(content_full, style_full, 512))
        report["gpu"] = compare(
            content, style, extractor.to(gpu), seed_steps, args.steps, args.pyramid, ["fp32", "bf16"], gpu
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"time_to_quality-{'quick' if args.quick else 'full'}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    speedup = cpu["engine"]["fp32"]["speedup"]
    print(f"time-to-seed-quality speedup: {speedup:.1f}x" if speedup else "time-to-seed-quality speedup: not reached")
    return report


if __name__ == "__main__":
    main()
