import json
import re
import sys
from pathlib import Path

import pytest
import torch

import helpers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import peer_pastiche as bench  # noqa: E402

CONTENT, STYLE = bench.ROOT / "data" / "chelsea.png", bench.ROOT / "data" / "starry_night.jpg"


def test_caffe_and_contract_images_convert_both_ways(generator):
    image = torch.rand(1, 3, 5, 7, generator=generator)
    torch.testing.assert_close(bench.caffe_to_rgb(bench.rgb_to_caffe(image)), image)
    white = bench.rgb_to_caffe(torch.ones(1, 3, 1, 1)).flatten()
    torch.testing.assert_close(white, 255 - torch.tensor(helpers.CAFFE_MEAN_BGR))  # BGR order, mean removed


def test_stylize_computes_pastiches_own_objective(generator):
    content, style = bench.pastiche_images(CONTENT, STYLE, 48)
    artist = bench.make_artist(CONTENT, STYLE, 48)
    options = {**bench.stylize_options(content, style), "steps": 1}
    for image in (content, torch.rand(content.shape, generator=generator)):
        ours = helpers.stylize(content, style, **{**options, "init": image}).history[0]["total"]
        assert ours == pytest.approx(bench.pastiche_score(artist, image), rel=1e-4)


def test_quick_peer_benchmark_end_to_end(tmp_path, capsys):
    arguments = ["--size", "48", "--peer-steps", "10", "--steps", "40", "--internal-steps", "60", "--threads", "1",
                 "--out", str(tmp_path)]  # fmt: skip
    report = bench.main(arguments)
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"time-to-pastiche-quality speedup at 48 px: (\d+\.\dx|not reached)", lines[-1])
    saved = json.loads(next(tmp_path.glob("peer_pastiche-48-*.json")).read_text())
    run = saved["runs"]["48"]
    assert set(run["pastiche_targets"]) == {"saved", "internal"} and run["pastiche_steps"] == 10
    assert run["reached"]["saved"] is None or run["reached"]["saved"]["loss"] <= run["pastiche_targets"]["saved"]
    assert report["runs"]["48"]["size"] == [32, 48]
