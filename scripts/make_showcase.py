"""Make the showcase picture that notebook 00 shows: one stylisation at 512 px with enough steps to look finished.

    python scripts/make_showcase.py                       # chelsea.png in the style of starry_night.jpg
    python scripts/make_showcase.py --content coffee.png --style great_wave.jpg

Writes notebooks/assets/showcase-<content>-<style>.jpg (quality 90) and a .json beside it with the options,
the time and the machine. On a 2-core CPU it takes several minutes; on a GPU seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402

OUT = ROOT / "notebooks" / "assets"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", default="chelsea.png")
    parser.add_argument("--style", default="starry_night.jpg")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--pyramid", type=int, default=3)
    args = parser.parse_args(argv)
    device = helpers.choose_device()
    content = helpers.load_image(helpers.data_dir() / args.content).to(device)
    style = helpers.load_image(helpers.data_dir() / args.style).to(device)
    began = time.perf_counter()
    result = helpers.stylize(content, style, size=args.size, steps=args.steps, pyramid=args.pyramid)
    seconds = time.perf_counter() - began
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"showcase-{Path(args.content).stem}-{Path(args.style).stem}"
    path = OUT / f"{name}.jpg"
    helpers.to_pil(result.image).save(path, quality=90)
    record = {
        "content": args.content,
        "style": args.style,
        "options": result.options.to_dict(),
        "steps_taken": len(result.history),
        "seconds": round(seconds, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "final": {k: result.history[-1][k] for k in ("content", "style", "tv", "total")},
    }
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path} ({len(result.history)} steps in {seconds:.0f} s on {device})")
    return path


if __name__ == "__main__":
    main()
