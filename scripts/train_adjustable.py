"""Train the adjustable network of notebook 07 and write the checkpoint that ``helpers.adjustable_stylize`` loads.

    python scripts/train_adjustable.py --skimage-wheel /tmp/scikit_image-0.26.0-...whl      # the shipped run
    python scripts/train_adjustable.py ... --resume                                         # go on after a stop
    python scripts/train_adjustable.py ... --design norms --steps 150 --no-ship             # a design trial
    python scripts/train_adjustable.py ... --distill-settings 192 --steps 400 --near 0.5 --no-ship   # offsets first

The trials of bench/results/adjustable_training_trials-20261202.json: ``--near`` (settings drawn near balanced),
``--init-from`` (fine-tune a checkpoint), ``--distill-settings`` (first fit the conditioner to the best shared
embedding offsets of that many random settings, then train end to end). None of them beat the shipped run's
layer control after end-to-end training; bench/README.md has the numbers.

The defaults are the shipped run's: 1600 paired steps of 4 crops at 128 px, Adam from 3e-3 on a cosine to a
twentieth, the direct path D at ten times that; 46 min on two threads of a 2-core AMD EPYC (the manifest has the
numbers).

Seeded and resumable: every ``--checkpoint-every`` steps the run state (weights, optimizer, random stream, loss
history) is saved to ``--work-dir``; ``--resume`` continues from it and ends with the same numbers as a run that
never stopped. At the end it writes the loss curve (PNG) and, unless ``--no-ship``, the small checkpoint and its
manifest into helpers/realtime/models/. Held out, never seen in training: grace_hopper.jpg, the_scream.jpg and
woman_with_a_hat.jpg. Extra photos come from scikit-image's wheel (``pip download scikit-image --no-deps``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import json
import math
import os
import platform
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers
from helpers.realtime import adjustable, adjustable_train

PHOTOS = ["chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg"]
PAINTINGS = [
    "starry_night.jpg",
    "shipwreck.jpg",
    "great_wave.jpg",
    "water_lilies.jpg",
    "brick.png",
    "grass.png",
    "gravel.png",
]
HELD_OUT = {"photos": ["grace_hopper.jpg"], "paintings": ["the_scream.jpg", "woman_with_a_hat.jpg"]}
SKIMAGE_PHOTOS = {
    "hubble_deep_field.jpg": "NASA (HubbleSite), public domain",
    "retina.jpg": "M. Häggström via Wikimedia Commons, CC0 1.0",
    "ihc.png": "Center for Microscopy and Molecular Imaging, no known copyright restrictions",
    "coins.png": "Brooklyn Museum collection, no known copyright restrictions",
    "camera.png": "Lav Varshney, CC0",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def skimage_files(wheel: Path | None) -> dict[str, bytes]:
    """The extra photos' bytes, read from a scikit-image wheel, or from an installed scikit-image."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as archive:
            return {name: archive.read(f"skimage/data/{name}") for name in SKIMAGE_PHOTOS}
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("give --skimage-wheel (pip download scikit-image --no-deps -d /tmp) or --no-extra-photos")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return {name: (folder / name).read_bytes() for name in SKIMAGE_PHOTOS}


def load_data(args) -> tuple[list[Tensor], dict[str, Tensor], list[dict]]:
    data, sources = helpers.data_dir(), []
    files = {name: (data / name).read_bytes() for name in PHOTOS}
    if not args.no_extra_photos:
        files |= skimage_files(args.skimage_wheel)
    photos = [helpers.load_image(raw, max_size=512, name=name) for name, raw in files.items()]
    sources += [
        {
            "file": name,
            "role": "photo",
            "sha256": sha256(raw),
            "source": SKIMAGE_PHOTOS.get(name, "data/ (see data/CREDITS.md)"),
        }
        for name, raw in files.items()
    ]
    paintings = {}
    for name in PAINTINGS:
        raw = (data / name).read_bytes()
        paintings[name] = helpers.load_image(raw, max_size=512, name=name)
        sources.append({"file": name, "role": "painting", "sha256": sha256(raw), "source": "data/ (see CREDITS.md)"})
    return photos, paintings, sources


class NormOffsets(nn.Module):
    """Trial designs: an MLP Λ(e, u) adds offsets to every conditional norm's γ and β (the paper's Λ, fed the
    embedding too), through ``adjustable_train.norm_offsets``. ``train_transformer`` also fine-tunes the
    transformer (the paper's design, at this scale)."""

    def __init__(self, hidden: int = 128, train_transformer: bool = False) -> None:
        super().__init__()
        transformer = copy.deepcopy(helpers.realtime.load_transformer()).requires_grad_(train_transformer)
        self.sizes = [2 * c for c in adjustable_train.norm_sizes(transformer)]
        self.net = nn.Sequential(
            nn.Linear(100 + 6, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, sum(self.sizes)),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.transformer = transformer if train_transformer else None
        self._frozen = None if train_transformer else [transformer]

    def forward(self, content_image: Tensor, embedding: Tensor, features: Tensor) -> Tensor:
        transformer = self.transformer if self.transformer is not None else self._frozen[0]
        batch = content_image.shape[0]
        offsets = self.net(torch.cat([embedding.expand(batch, -1), features.expand(batch, -1)], 1))
        with adjustable_train.norm_offsets(transformer, offsets.split(self.sizes, dim=1)):
            return transformer(content_image.contiguous(memory_format=torch.channels_last), embedding)


def build(design: str) -> nn.Module:
    if design == "embedding":
        return adjustable_train.AdjustableModel(adjustable.WeightConditioner(hidden=128))
    return NormOffsets(train_transformer=design == "paper")


def optimizer_for(model: nn.Module, lr: float, direct_lr_scale: float = 1.0) -> torch.optim.Optimizer:
    """Adam; the transformer (``--design paper``) at a tenth of ``lr``, the conditioner's direct path D at
    ``direct_lr_scale`` times it (its own group only when that is not 1)."""
    named = list(model.named_parameters())
    direct = [p for n, p in named if ".direct." in n] if direct_lr_scale != 1 else []
    tuned = [p for n, p in named if n.startswith("transformer.")]
    rest = [p for n, p in named if not n.startswith("transformer.") and not any(p is q for q in direct)]
    groups = [{"params": rest, "lr": lr}]
    if direct:
        groups.append({"params": direct, "lr": lr * direct_lr_scale})
    if tuned:
        groups.append({"params": tuned, "lr": lr / 10})
    return torch.optim.Adam(groups)


class HeldOut:
    """The held-out pairs at the training size with fixed settings, their objectives and ``fast_stylize``'s totals,
    made once; calling it scores a model: the mean total relative to ``fast_stylize``'s (1 = no better), and how
    many of the 10 (pair, layer) tests see a layer's term fall when its weight goes from 0.1 to 10, each test's
    ratio of the two terms and their geometric mean (1 = the slider does nothing)."""

    def __init__(self, size: int, count: int = 6) -> None:
        data, vgg = helpers.data_dir(), helpers.cached_vgg19()
        photo = helpers.resize_image(helpers.load_image(data / HELD_OUT["photos"][0]), size)
        generator = torch.Generator().manual_seed(1234)
        settings = [adjustable_train.sample_setting(generator) for _ in range(count)]
        self.cases, self.layer_cases = [], []
        transformer = helpers.realtime.load_transformer()
        with torch.no_grad():
            for name in HELD_OUT["paintings"]:
                style = helpers.resize_image(helpers.load_image(data / name), size)
                embedding = helpers.realtime.style_embedding(style)
                reference = transformer(photo, embedding)
                for setting in settings:
                    objective = adjustable_train.setting_objective(vgg, photo, style, setting)
                    self.cases.append((photo, embedding, setting, objective, float(objective(reference)[0])))
                for i, layer in enumerate(adjustable.STYLE_LAYERS):
                    pair = [
                        adjustable_train.Setting(0.1, {n: w if n == layer else 1.0 for n in adjustable.STYLE_LAYERS})
                        for w in (0.1, 10.0)
                    ]
                    objectives = [adjustable_train.setting_objective(vgg, photo, style, s) for s in pair]
                    self.layer_cases.append((photo, embedding, i, pair, objectives))

    def __call__(self, model: nn.Module, layers: bool = True) -> dict:
        with torch.no_grad():
            relative = [
                float(objective(model(photo, embedding, setting.features()))[0]) / reference
                for photo, embedding, setting, objective, reference in self.cases
            ]
            ratios = []
            for photo, embedding, i, pair, objectives in self.layer_cases if layers else []:
                terms = [
                    float(o(model(photo, embedding, s.features()))[1]["style_layers"][i])
                    for s, o in zip(pair, objectives)
                ]
                ratios.append(terms[1] / terms[0])
        score = {"held_out_relative": sum(relative) / len(relative)}
        if not layers:
            return score
        return score | {
            "layers_that_fall": sum(r < 1 for r in ratios),
            "layer_tests": len(ratios),
            "layer_ratio_geomean": round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 4),
            "layer_ratios": [round(r, 4) for r in ratios],
        }


def loss_curve(history: list[float], validation: list[list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    window = max(1, len(history) // 20)
    smooth = [
        sum(history[max(0, i - window + 1) : i + 1]) / len(history[max(0, i - window + 1) : i + 1])
        for i in range(len(history))
    ]
    ax.plot(history, color="0.8", lw=0.7, label="each step (training crops)")
    ax.plot(smooth, color="tab:blue", label=f"mean of the last {window} steps")
    if validation:
        steps, values = zip(*validation)
        ax.plot(steps, values, "o-", color="tab:orange", label="held-out pairs")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set(xlabel="step", ylabel="loss / fast_stylize's loss", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def ship(
    model: nn.Module,
    args,
    history: list[float],
    validation: list,
    seconds: float,
    sources: list[dict],
    score: dict,
    distilled: dict,
) -> Path:
    adjustable.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in model.conditioner.state_dict().items()}, adjustable.CHECKPOINT)
    tail = history[-max(1, len(history) // 10) :]
    manifest = {
        "what": "WeightConditioner of helpers.realtime.adjustable (Babaeizadeh & Ghiasi 2020, teaching scale)",
        "network": {"hidden": 128},
        "checkpoint": adjustable.CHECKPOINT.name,
        "checkpoint_sha256": sha256(adjustable.CHECKPOINT.read_bytes()),
        "checkpoint_bytes": adjustable.CHECKPOINT.stat().st_size,
        "parameters": sum(p.numel() for p in model.conditioner.parameters()),
        "trained_on": sources,
        "held_out": HELD_OUT,
        "sampling": {
            "ratio": list(adjustable.RATIO_RANGE),
            "layer_weight": list(adjustable.LAYER_WEIGHT_RANGE),
            "distribution": "log-uniform",
            "off_probability": 0.15,
            "near_balanced": {"share": args.near, "layer_weight": list(adjustable_train.NEAR_RANGE)},
            "tv_weight": adjustable.TV_WEIGHT,
        },
        "distilled": distilled,
        "objective": "helpers.objective.StyleObjective, balanced units, content relu4_2, Caffe VGG19 (max pooling)",
        "settings": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k not in ("skimage_wheel", "work_dir", "stop_after", "stop_after_batches")
        },
        "steps": len(history),
        "wall_seconds": round(seconds, 1),
        "machine": platform.processor() or platform.machine(),
        "cpu": _cpu_model(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "loss": "StyleObjective total / the total of fast_stylize's picture for the same images and weights",
        "final_loss": round(sum(tail) / len(tail), 4) if tail else None,
        "final_held_out": score,
        "loss_history": [round(v, 5) for v in history],
        "held_out_history": validation,
    }
    adjustable.MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    return adjustable.CHECKPOINT


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def distill_phase(args, model: nn.Module, vgg, photos, bank, generator: torch.Generator, work: Path) -> dict:
    """Phase 1: ``--distill-settings`` settings (twins, as ``boosted`` makes them), each with the embedding offset
    that paints its own random pairs best (``adjustable_train.shared_offsets``); phase 2: the conditioner fitted
    to them (``adjustable_train.distill``). Saved after every batch of settings to ``offsets.pt`` in the work
    directory and resumed from it, random stream included."""
    from tqdm.auto import tqdm

    path, per_batch = work / "offsets.pt", 16
    state = {"features": [], "offsets": [], "relative": [], "seconds": 0.0}
    if args.resume and path.is_file():
        state = torch.load(path, weights_only=False)
        generator.set_state(state["generator"])
    batches = math.ceil(args.distill_settings / per_batch)
    bar = tqdm(total=batches, initial=len(state["offsets"]), desc="best offsets", unit="batch")
    while len(state["offsets"]) < batches:
        began = time.perf_counter()
        draws = [adjustable_train.sample_setting(generator, near=args.near) for _ in range(per_batch // 2)]
        settings = draws + [adjustable_train.boosted(s, generator) for s in draws]
        offsets, relative = adjustable_train.shared_offsets(
            vgg,
            photos,
            bank,
            generator,
            settings,
            pairs=args.distill_pairs,
            steps=args.distill_steps,
            size=args.size,
        )
        state["features"].append(torch.cat([s.features() for s in settings]))
        state["offsets"].append(offsets)
        state["relative"].append(relative)
        state["seconds"] += time.perf_counter() - began
        state["generator"] = generator.get_state()
        torch.save(state, path)
        bar.update(1)
        bar.set_postfix_str(f"relative {float(relative.mean()):.3f}")
        if args.stop_after_batches and len(state["offsets"]) >= args.stop_after_batches:
            bar.close()
            raise SystemExit(f"stopped after {len(state['offsets'])} batches of settings; --resume goes on")
    bar.close()
    began = time.perf_counter()
    features, offsets = torch.cat(state["features"]), torch.cat(state["offsets"])
    losses = adjustable_train.distill(
        model.conditioner, features, offsets, torch.cat(bank.embeddings), generator, steps=args.distill_fit_steps
    )
    relative = torch.cat(state["relative"])
    return {
        "settings": len(features),
        "pairs_per_setting": args.distill_pairs,
        "adam_steps_per_setting": args.distill_steps,
        "offsets_relative_loss_mean": round(float(relative.mean()), 4),
        "offset_length_median": round(float(offsets.norm(dim=1).median()), 3),
        "fit_steps": args.distill_fit_steps,
        "fit_mse_first_last": [round(losses[0], 5), round(losses[-1], 6)],
        "seconds": round(state["seconds"] + time.perf_counter() - began, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=["embedding", "norms", "paper"], default="embedding")
    parser.add_argument("--steps", type=int, default=1600)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="side of the square training crops, pixels")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's first learning rate (a cosine to 1/20 of it)")
    parser.add_argument("--direct-lr-scale", type=float, default=10.0, help="the direct path D's learning rate / --lr")
    parser.add_argument("--crops", type=int, default=8, help="crops per training painting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--validate-every", type=int, default=150, help="steps between held-out scores")
    parser.add_argument(
        "--paired",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="half of each batch repeats the other half, one layer boosted (--no-paired: every image drawn anew)",
    )
    parser.add_argument(
        "--near",
        type=float,
        default=0.0,
        help="share of settings drawn near-balanced (every layer weight in 0.1-10), where one slider moves from equal",
    )
    parser.add_argument(
        "--distill-settings",
        type=int,
        default=0,
        help="settings whose best shared embedding offsets the conditioner is first fitted to, in batches of 16 "
        "(rounded up; 0: none)",
    )
    parser.add_argument("--distill-pairs", type=int, default=2, help="random pairs each offset is fitted on")
    parser.add_argument("--distill-steps", type=int, default=16, help="Adam steps (lr 0.05) of each offset")
    parser.add_argument("--distill-fit-steps", type=int, default=2000, help="Adam steps fitting the conditioner")
    parser.add_argument("--stop-after-batches", type=int, help="stop the offsets phase after this many batches")
    parser.add_argument(
        "--init-from", type=Path, help="start from this conditioner's weights (an adjustable.pt) instead of zeros"
    )
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--stop-after", type=int, help="stop once this many steps are done, as an interruption would (resume later)"
    )
    parser.add_argument("--no-ship", action="store_true", help="a trial: do not write helpers/realtime/models/")
    parser.add_argument("--no-extra-photos", action="store_true")
    parser.add_argument("--skimage-wheel", type=Path)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "outputs" / "adjustable")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = args.work_dir / args.design
    work.mkdir(parents=True, exist_ok=True)
    state_path = work / "state.pt"

    generator = helpers.seed_everything(args.seed)
    photos, paintings, sources = load_data(args)
    bank = adjustable_train.PaintingBank(paintings, args.size, args.crops, generator)
    torch.manual_seed(args.seed)  # the first load of the bundled networks draws from the global stream: reseed
    model = build(args.design)
    if args.init_from:
        if args.design != "embedding":
            raise SystemExit("--init-from loads a WeightConditioner: it needs --design embedding")
        model.conditioner.load_state_dict(torch.load(args.init_from, map_location="cpu", weights_only=True))
    optimizer = optimizer_for(model, args.lr, args.direct_lr_scale)
    base_lrs = [group["lr"] for group in optimizer.param_groups]  # before a resumed state sets the step's lr
    vgg = helpers.cached_vgg19()
    held_out = HeldOut(args.size)
    if args.resume and state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        history, validation, seconds = state["history"], state["validation"], state["seconds"]
        distilled = state.get("distilled", {})
    else:
        distilled = {}
        if args.distill_settings:
            if args.design != "embedding":
                raise SystemExit("--distill-settings fits a WeightConditioner: it needs --design embedding")
            distilled = distill_phase(args, model, vgg, photos, bank, generator, work)
        start = held_out(model.eval(), layers=bool(distilled))  # the distilled network's layer tests too
        model.train()
        if distilled:
            print(json.dumps({"distilled": distilled, "held_out": start}), flush=True)
        history, validation = [], [[0, round(start["held_out_relative"], 5)]]
        seconds = distilled.get("seconds", 0.0)

    def save() -> None:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "history": history,
                "validation": validation,
                "seconds": seconds,
                "distilled": distilled,
            },
            state_path,
        )

    from tqdm.auto import tqdm

    bar = tqdm(total=args.steps, initial=len(history), desc=f"train {args.design}", unit="step")
    began = time.perf_counter()
    seconds_before = seconds

    def set_lr() -> None:  # cosine from --lr down to a twentieth of it, a function of the step: resumes exactly
        fraction = min(len(history) / max(1, args.steps - 1), 1.0)
        for group, base in zip(optimizer.param_groups, base_lrs):
            group["lr"] = base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * fraction)))

    set_lr()

    def on_step(step: int, loss: float, records: list[dict]) -> bool:
        nonlocal seconds
        history.append(loss)
        set_lr()
        seconds = seconds_before + time.perf_counter() - began
        bar.update(1)
        bar.set_postfix_str(f"loss {loss:.4f}")
        if len(history) % args.validate_every == 0:
            model.eval()
            validation.append([len(history), round(held_out(model, layers=False)["held_out_relative"], 5)])
            model.train()
        if len(history) % args.checkpoint_every == 0:
            save()
        return not (args.stop_after and len(history) >= args.stop_after)

    adjustable_train.train_steps(
        model,
        optimizer,
        vgg,
        photos,
        bank,
        generator,
        steps=args.steps - len(history),
        batch=args.batch,
        size=args.size,
        paired=args.paired,
        near=args.near,
        callback=on_step,
    )
    bar.close()
    save()
    model.eval()
    score = held_out(model)
    loss_curve(
        history,
        validation,
        work / "loss_curve.png",
        f"{args.design}: {len(history)} steps, {seconds / 60:.1f} min, {torch.get_num_threads()} threads",
    )
    result = {
        "design": args.design,
        "steps": len(history),
        "seconds": round(seconds, 1),
        **score,
        "last_tenth_loss": sum(history[-max(1, len(history) // 10) :]) / max(1, len(history) // 10),
        "distilled": distilled,
    }
    if not args.no_ship and args.design == "embedding":
        ship(model, args, history, validation, seconds, sources, score, distilled)
    (work / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
