"""Measure the mean activation of every VGG19 filter over the bundled images: the table behind "caffe-normalized".

    python scripts/vgg_filter_means.py            # rewrites helpers/data/vgg19_caffe_filter_means.json
    python scripts/vgg_filter_means.py --check    # recomputes and compares with the stored table

Gatys et al. normalised their VGG19 over ImageNet images; this project measures it over the photos, paintings
and textures in data/ (each at two sizes, max pooling, the raw Caffe weights), which a script can redo offline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402
from helpers.normalization import FILTER_MEANS_FILE, filter_means  # noqa: E402

SIZES = (256, 512)
SUFFIXES = (".png", ".jpg")


def measure() -> dict:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    files = sorted(p for p in helpers.data_dir().iterdir() if p.suffix.lower() in SUFFIXES)
    extractor = helpers.load_vgg19("caffe")
    images = (helpers.load_image(path, max_size=size) for path in files for size in SIZES)
    means = filter_means(extractor, images)
    return {
        "what": "mean activation of each filter of the raw Caffe VGG19 (max pooling) over the images below",
        "images": [p.name for p in files],
        "sizes": list(SIZES),
        "means": {name: [float(f"{v:.6g}") for v in values.tolist()] for name, values in means.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the stored table instead of writing it")
    args = parser.parse_args(argv)
    table = measure()
    if args.check:
        stored = json.loads(FILTER_MEANS_FILE.read_text())
        worst = max(
            abs(a - b) / max(abs(b), 1e-12)
            for name in table["means"]
            for a, b in zip(table["means"][name], stored["means"][name])
        )
        print(f"largest relative difference from {FILTER_MEANS_FILE.name}: {worst:.2e}")
        return 0 if worst < 1e-4 and table["images"] == stored["images"] else 1
    FILTER_MEANS_FILE.parent.mkdir(parents=True, exist_ok=True)
    FILTER_MEANS_FILE.write_text(json.dumps(table, indent=1) + "\n")
    dead = sum(v <= 0 for values in table["means"].values() for v in values)
    print(f"wrote {FILTER_MEANS_FILE} ({len(table['images'])} images x {len(SIZES)} sizes; {dead} filters never fire)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
