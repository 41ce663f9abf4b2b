import sys
from pathlib import Path

import numpy as np
import realtime_oracle as oracle
import torch

from helpers.realtime import load_transformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import realtime_speed as bench


def test_any_size_graph_equals_the_shipped_graph_at_384_and_runs_at_other_sizes(generator):
    session = bench.ort_session(bench.any_size_transform_graph(), threads=2)
    content = torch.rand(1, 384, 384, 3, generator=generator).numpy()
    embedding = torch.randn(1, 1, 1, 100, generator=generator).numpy()
    feeds = {"content_image": content, bench.EMBEDDING_INPUT: embedding}
    np.testing.assert_array_equal(session.run(None, feeds)[0], oracle.transform(content, embedding))
    feeds["content_image"] = content[:, :256, :320]
    assert session.run(None, feeds)[0].shape == (1, 256, 320, 3)


def test_var_mean_variant_gives_the_same_output_and_is_undone(generator):
    content = torch.rand(1, 3, 64, 64, generator=generator)
    embedding = torch.randn(1, 100, generator=generator)
    shipped = bench.ConditionalInstanceNorm.forward
    with torch.inference_mode():
        expected = load_transformer()(content, embedding)
        with bench.var_mean_statistics():
            assert bench.ConditionalInstanceNorm.forward is not shipped
            torch.testing.assert_close(load_transformer()(content, embedding), expected, rtol=1e-4, atol=1e-4)
    assert bench.ConditionalInstanceNorm.forward is shipped


def test_throughput_reports_both_precisions_on_any_device():
    report = bench.throughput(torch.device("cpu"), size=64, runs=1)
    for name in ("transformer", "multistyle"):
        assert report[f"{name}_fp32_per_second"] > 0 and report[f"{name}_bf16_per_second"] > 0
        assert 0 < report[f"{name}_bf16_vs_fp32_mad"] < 0.1  # bf16 really ran, and stayed close
