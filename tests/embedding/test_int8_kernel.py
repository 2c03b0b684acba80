"""The int8 encoder's products are exact on this CPU, whatever its instruction set, and the
kernel choice on CPUs with and without VNNI (stood in for by the probe, so no VNNI machine is
needed)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from retrieval.embedding import int8_kernel
from retrieval.embedding.int8_kernel import (
    PRECISION_MODE,
    PROBE_MODEL,
    int8_session_entries,
    probe,
)
from retrieval.embedding.onnx_embedder import make_session
from retrieval.errors import NewsdeskError

EXACT = 255 * 127 * 64
SATURATED = 32 * 32767  # every pair of products clipped to int16


@pytest.fixture
def fresh_choice() -> Iterator[None]:
    """The choice is made once per process; these tests make it again with a stand-in probe."""
    int8_session_entries.cache_clear()
    yield
    int8_session_entries.cache_clear()


def _cpu(monkeypatch: pytest.MonkeyPatch, results: dict[bool, int]) -> list[dict[str, str]]:
    """A CPU whose probe gives results[precision mode set]; returns the probes' entries."""
    calls: list[dict[str, str]] = []

    def fake(entries: Mapping[str, str]) -> int:
        calls.append(dict(entries))
        return results[PRECISION_MODE in entries]

    monkeypatch.setattr(int8_kernel, "probe", fake)
    return calls


def test_the_probe_graph_is_the_one_onnx_builds() -> None:
    weight = numpy_helper.from_array(np.full((64, 1), 127, dtype=np.int8), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "w"], ["y"])],
        "int8-probe",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, ["rows", 64])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, ["rows", 1])],
        [weight],
    )
    expected = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    expected.ir_version = 8
    stored = onnx.load_from_string(PROBE_MODEL)
    onnx.checker.check_model(stored)
    assert stored.graph == expected.graph
    assert stored.opset_import == expected.opset_import and stored.ir_version == 8


def test_the_chosen_session_entries_make_full_range_products_exact_here() -> None:
    assert probe(int8_session_entries()) == EXACT


@pytest.mark.usefixtures("fresh_choice")
def test_a_cpu_without_vnni_gets_the_u8u8_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _cpu(monkeypatch, {False: SATURATED, True: EXACT})
    assert int8_session_entries() == {PRECISION_MODE: "1"}
    assert calls == [{}, {PRECISION_MODE: "1"}]  # checked, not assumed, to fix it
    assert int8_kernel.int8_kernel().startswith("u8u8")


@pytest.mark.usefixtures("fresh_choice")
def test_a_cpu_with_vnni_keeps_the_u8s8_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The precision mode would also swap VNNI's kernel for the slower U8U8 one."""
    calls = _cpu(monkeypatch, {False: EXACT, True: EXACT})
    assert int8_session_entries() == {}
    assert calls == [{}]
    assert int8_kernel.int8_kernel().startswith("u8s8")


@pytest.mark.usefixtures("fresh_choice")
def test_no_exact_kernel_refuses_the_int8_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpu(monkeypatch, {False: SATURATED, True: SATURATED})
    with pytest.raises(NewsdeskError, match="NEWSDESK_EMBEDDING_BACKEND=onnx"):
        int8_session_entries()


def _quantized_matmul(folder: Path) -> Path:
    """x (batch, 32) @ W (32, 16) quantized as the export does: full-range int8 weights per
    output channel, uint8 activations. Weights of one magnitude (all map to +-127) and inputs
    in [0, 1] (quantized up to 255): the pairs a saturating kernel clips are everywhere."""
    signs = np.where(np.random.default_rng(0).random((32, 16)) < 0.5, -1.0, 1.0)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="ffn")],
        "one-matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])],
        [numpy_helper.from_array(signs.astype(np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    target = folder / "int8.onnx"
    quantize_dynamic(
        model,
        target,
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True},
    )
    return target


def _exact(graph: Path, x: np.ndarray) -> np.ndarray:
    """The quantized graph's result in exact integer arithmetic (numpy)."""
    weights = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(graph)).graph.initializer}
    w, w_scale = weights["w_quantized"].astype(np.int64), weights["w_scale"]
    assert np.abs(w).max() == 127  # full range: what saturates without VNNI
    low, high = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = np.float32((high - low) / 255)
    zero = int(np.clip(np.round(-low / scale), 0, 255))
    q = np.clip(np.round(x / scale) + zero, 0, 255).astype(np.int64)
    return ((q - zero) @ w).astype(np.float32) * (scale * w_scale)


def test_a_full_range_int8_matmul_is_exact_in_the_encoder_sessions(tmp_path: Path) -> None:
    graph = _quantized_matmul(tmp_path)
    x = np.random.default_rng(1).random((24, 32)).astype(np.float32)
    expected = _exact(graph, x)
    for threads in (1, 2):
        session = make_session(graph, threads, int8=True)
        assert np.allclose(session.run(["y"], {"x": x})[0], expected, rtol=1e-5, atol=1e-4)
    if int8_session_entries():  # this CPU saturates: without the entries the result is wrong
        plain = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        error = np.abs(plain.run(["y"], {"x": x})[0] - expected).max()
        assert error > 0.1 * np.abs(expected).max(), error
