"""Why the adjustable network's layer sliders move so little: is there one embedding move per setting that works
for every photo and painting, or is the best move different for each pair?

Two measurements at 128 px, every term scored by ``StyleObjective`` in balanced units (α/β = 0.1, the other
layers at 1, the tested layer at 0.1 and at 10), 2 threads on the CPU:

1. ``per_pair``: for 3 photos × 3 paintings, the embedding optimised for each setting alone (40 Adam steps,
   lr 0.05, from the painting's own embedding, as notebook 07's ceiling). Reported: that layer's term at 10 over
   its term at 0.1 (the control the embedding route can give), the length of the move between the two optima,
   the shipped network's move for the same two settings and the cosine between them, and the cosine between the
   optimal moves of every two pairs (1 = one shared direction would do).
2. ``shared``: one offset per setting shared by six training pairs (chelsea and astronaut with Starry Night, The
   Great Wave, Shipwreck), fitted to their mean relative loss (30 Adam steps, lr 0.05), then scored on Grace
   Hopper with The Scream, Woman with a Hat and Starry Night. Two kinds of offset: added to the embedding
   (``embedding``), or to every conditional norm's γ (as 1 + δ) and β (``norms``, 694 numbers).

Run ``python bench/adjustable_directions.py`` (about 8 minutes on a 2-core CPU); it writes
``results/adjustable_directions-<date>.json``.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import platform
import time
from pathlib import Path

import torch

import helpers
from helpers import realtime
from helpers.realtime import adjustable, adjustable_train
from helpers.realtime.adjustable_eval import Pair, best_embedding, score

RESULTS = Path(__file__).resolve().parent / "results"
SIZE = 128
PHOTOS = ("chelsea.png", "astronaut.png", "grace_hopper.jpg")
PAINTINGS = ("starry_night.jpg", "the_scream.jpg", "woman_with_a_hat.jpg")
SHARED_TRAIN = tuple(
    itertools.product(("chelsea.png", "astronaut.png"), ("starry_night.jpg", "great_wave.jpg", "shipwreck.jpg"))
)
SHARED_TEST = tuple(("grace_hopper.jpg", p) for p in ("the_scream.jpg", "woman_with_a_hat.jpg", "starry_night.jpg"))
EQUAL = {name: 1.0 for name in adjustable.STYLE_LAYERS}
LOW, HIGH, RATIO = 0.1, 10.0, 0.1


def make_pair(photo: str, painting: str) -> Pair:
    content = helpers.resize_image(helpers.load_image(helpers.data_dir() / photo), SIZE)
    style = helpers.resize_image(helpers.load_image(helpers.data_dir() / painting), SIZE)
    return Pair(
        f"{photo.split('.')[0]} + {painting.split('.')[0]}", content, style, realtime.style_embedding(style).clone()
    )


def setting(layer: str, weight: float) -> adjustable_train.Setting:
    return adjustable_train.Setting(RATIO, EQUAL | {layer: weight})


def per_pair(layers) -> dict:
    pairs = [make_pair(a, b) for a, b in itertools.product(PHOTOS, PAINTINGS)]
    rows, moves = [], {layer: [] for layer in layers}
    for pair, layer in itertools.product(pairs, layers):
        best, terms, net = {}, {}, {}
        for weight in (LOW, HIGH):
            chosen = setting(layer, weight)
            best[weight] = best_embedding(pair, chosen)
            image = realtime.fast_stylize(pair.content, embedding=best[weight])
            terms[weight] = score(pair, image, chosen)["style_layers"][layer]
            net[weight] = adjustable.adjustable_embedding(
                pair.embedding, style_layers=chosen.style_layers, content_weight=RATIO
            )
        move, net_move = (best[HIGH] - best[LOW])[0], (net[HIGH] - net[LOW])[0]
        moves[layer].append(move)
        rows.append(
            {
                "pair": pair.name,
                "layer": layer,
                "best_term_ratio": round(terms[HIGH] / terms[LOW], 4),
                "best_move_length": round(float(move.norm()), 3),
                "network_move_length": round(float(net_move.norm()), 3),
                "cosine_network_best": round(float(torch.cosine_similarity(move, net_move, 0)), 3),
                "embedding_length": round(float(pair.embedding.norm()), 3),
            }
        )
        print(rows[-1], flush=True)
    cosines = {
        layer: [[round(float(torch.cosine_similarity(a, b, 0)), 2) for b in vecs] for a in vecs]
        for layer, vecs in moves.items()
    }
    return {"pairs": [p.name for p in pairs], "rows": rows, "move_cosines": cosines}


def shared(vgg, transformer, layer: str, steps: int = 30, lr: float = 0.05) -> dict:
    train = [make_pair(a, b) for a, b in SHARED_TRAIN]
    test = [make_pair(a, b) for a, b in SHARED_TEST]

    def run(kind, params, pair):
        if kind == "norms" and params:
            with adjustable_train.norm_offsets(transformer, params, relative_gamma=True):
                return transformer(pair.content, pair.embedding).contiguous()
        shift = params[0] if kind == "embedding" and params else 0
        return transformer(pair.content, pair.embedding + shift).contiguous()

    out = {}
    for kind in ("embedding", "norms"):
        terms, losses = {}, {}
        for weight in (LOW, HIGH):
            chosen = setting(layer, weight)
            objectives = [adjustable_train.setting_objective(vgg, p.content, p.style, chosen) for p in train]
            with torch.no_grad():
                references = [float(o(run(kind, None, p))[0]) for o, p in zip(objectives, train)]
            params = (
                [torch.zeros(1, 100, requires_grad=True)]
                if kind == "embedding"
                else [torch.zeros(2 * c, requires_grad=True) for c in adjustable_train.norm_sizes(transformer)]
            )
            optimizer = torch.optim.Adam(params, lr=lr)
            for _ in range(steps):
                loss = sum(o(run(kind, params, p))[0] / r for o, p, r in zip(objectives, train, references))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses[weight] = float(loss.detach()) / len(train)
            params = [p.detach() for p in params]
            with torch.no_grad():
                terms[weight] = {
                    group: [score(p, run(kind, params, p), chosen)["style_layers"][layer] for p in pairs]
                    for group, pairs in (("train", train), ("test", test))
                }
        out[kind] = {
            "last_step_loss": {str(w): round(v, 4) for w, v in losses.items()},
            **{
                f"{group}_term_ratios": [round(hi / lo, 4) for hi, lo in zip(terms[HIGH][group], terms[LOW][group])]
                for group in ("train", "test")
            },
        }
        print(kind, out[kind], flush=True)
    return {"train_pairs": [p.name for p in train], "test_pairs": [p.name for p in test], "layer": layer, **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", nargs="+", default=["relu1_1", "relu5_1"], help="layers of the per-pair part")
    parser.add_argument("--shared-layer", default="relu1_1")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vgg, transformer = helpers.cached_vgg19(), realtime.load_transformer()
    began = time.perf_counter()
    result = {
        "what": __doc__.split("\n")[0],
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine(),
        "threads": args.threads,
        "torch": torch.__version__,
        "settings": {"size": SIZE, "ratio": RATIO, "low": LOW, "high": HIGH},
        "per_pair": per_pair(args.layers),
        "shared": shared(vgg, transformer, args.shared_layer),
    }
    result["seconds"] = round(time.perf_counter() - began, 1)
    out = args.out or RESULTS / f"adjustable_directions-{datetime.date.today():%Y%m%d}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
