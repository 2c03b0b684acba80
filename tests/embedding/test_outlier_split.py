"""The int8 recipe's outlier split on a tiny graph: exact in float, and it is what keeps a
feed-forward MatMul with one huge input channel accurate once quantized."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from retrieval.embedding.onnx_export import feed_forward_matmuls, split_outlier_channels

HIDDEN, INNER = 16, 64
OUTLIER = 5  # the input channel that is ~50x larger than the rest


def _graph() -> Any:
    """x -> MatMul(HIDDEN x INNER) -> MatMul(INNER x HIDDEN) -> MatMul(HIDDEN x HIDDEN)."""
    rng = np.random.default_rng(0)
    weights = {
        "w_in": rng.normal(size=(HIDDEN, INNER)).astype(np.float32),
        "w_out": rng.normal(size=(INNER, HIDDEN)).astype(np.float32),
        "w_square": rng.normal(size=(HIDDEN, HIDDEN)).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w_in"], ["h"], name="ffn_in"),
        helper.make_node("MatMul", ["h", "w_out"], ["o"], name="ffn_out"),
        helper.make_node("MatMul", ["o", "w_square"], ["y"], name="square"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", HIDDEN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", HIDDEN])],
        [numpy_helper.from_array(w, name) for name, w in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _inputs(count: int = 4) -> np.ndarray:
    x = np.random.default_rng(1).normal(size=(count, 12, HIDDEN)).astype(np.float32)
    x[..., OUTLIER] *= 50
    return x


def _run(model: Any, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["y"], {"x": x})[0])


def _peaks(model: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel peak |input| of the feed-forward MatMuls (what the export measures)."""
    w_in = numpy_helper.to_array(model.graph.initializer[0])
    h = x @ w_in
    return {
        "ffn_in": np.abs(x).reshape(-1, HIDDEN).max(axis=0),
        "ffn_out": np.abs(h).reshape(-1, INNER).max(axis=0),
    }


def test_only_the_non_square_matmuls_count_as_feed_forward() -> None:
    assert [n.name for n in feed_forward_matmuls(_graph())] == ["ffn_in", "ffn_out"]


def test_split_is_exact_in_float_and_moves_the_largest_channels() -> None:
    model, x = _graph(), _inputs()
    reference = _run(model, x)
    peaks = _peaks(model, x)
    kept = split_outlier_channels(model, peaks, 3)
    onnx.checker.check_model(model)
    assert kept == ["ffn_in_outlier_matmul", "ffn_out_outlier_matmul"]
    assert np.allclose(_run(model, x), reference, rtol=1e-4, atol=1e-3)
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    index = weights["ffn_in_outlier_index"]
    assert OUTLIER in index and len(index) == 3
    assert set(index) == set(np.argsort(-peaks["ffn_in"])[:3])
    assert not weights["w_in"][index].any()  # those rows now go through the float side only
    assert weights["w_square"].any() and "square_outlier_index" not in weights


def test_split_keeps_quantization_error_small_with_an_outlier_channel(tmp_path: Path) -> None:
    x = _inputs(8)
    reference = _run(_graph(), x)

    def quantized_error(split: bool) -> float:
        model = _graph()
        if split:
            split_outlier_channels(model, _peaks(model, x), 2)
        target = tmp_path / f"split-{split}.onnx"
        quantize_dynamic(
            model,
            target,
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=["ffn_in"],  # its float side and the rest stay float
            extra_options={"MatMulConstBOnly": True},
        )
        out = _run(onnx.load(str(target)), x)
        return float(np.linalg.norm(out - reference) / np.linalg.norm(reference))

    plain, split = quantized_error(False), quantized_error(True)
    assert split < plain / 3, (plain, split)
