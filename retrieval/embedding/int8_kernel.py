"""Whether this CPU's int8 matrix product is exact, and the session setting that makes it so.

The int8 graph multiplies uint8 activations by int8 weights (onnxruntime's U8S8 kernels). With
VNNI (AVX512-VNNI, AVX-VNNI) the CPU sums four such products straight into int32: exact. On x86
CPUs without it (AVX2 only, AVX-512 without VNNI) onnxruntime uses VPMADDUBSW, which adds each
pair of products into int16 with saturation; 255 * 127 * 2 > 32767, so full-range weights
overflow. On an AVX2-only AMD EPYC (Zen 3) that took the export's mean cosine to torch from
0.9975 to 0.7069. The kernel is picked when a session starts, by the CPU that runs it, not by
the one that exported and verified the graph, and index folders (with their model cache) move
between machines: so the fix belongs to the load path, not to the export.

`session.x64quantprecision=1` makes onnxruntime rewrite the int8 weights as uint8 at load
(w + 128 with the zero point moved by 128, exact) and run its U8U8 kernel, which widens to
int16 before multiplying and does not saturate. Either way the integers are exact, so one graph
gives the same vectors on every CPU: the export's verification, the recipe and the indexes stay
valid when a folder moves. Weights quantized to 7 bits (`reduce_range`) also avoid the overflow
and keep the faster U8S8 kernel, but they lose precision on every CPU (mean cosine 0.9966
against 0.9975 with the U8U8 kernel on the same sample) and would tie the vectors to the
CPU the graph was made for if chosen per machine.

onnxruntime applies that setting on every x86 CPU with AVX2, VNNI or not (it would swap VNNI's
U8S8 kernel for the slower U8U8 one there), so it is set only where a tiny probe shows the
saturation: 255s times 127s, exact 255 * 127 * 64 = 2,072,640, saturated 32 * 32767 = 1,048,544.
The probe asks the kernels themselves, so it needs no CPU flag tables and covers other CPUs and
onnxruntime versions; if even the U8U8 path is not exact, the int8 backend refuses to load.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Mapping

import numpy as np

from retrieval.errors import ModelError

logger = logging.getLogger(__name__)

PRECISION_MODE = "session.x64quantprecision"
_DEPTH = 64  # products summed per output: 32 saturating pairs on VPMADDUBSW
_EXACT = 255 * 127 * _DEPTH
# y = MatMulInteger(x: uint8 [rows, 64], w: int8 [64, 1], all 127), opset 17, serialized here
# because importing the onnx package would add seconds to a question's cold start (tests check
# it against the graph onnx.helper builds: tests/embedding/test_int8_kernel.py).
PROBE_MODEL = base64.b64decode(
    "CAgSADqlAQoYCgF4CgF3EgF5Ig1NYXRNdWxJbnRlZ2VyEgppbnQ4LXByb2JlKksIQAgBEANCAXdKQH9/f39/f39/"
    "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39aFwoBeBISChAI"
    "AhIMCgYSBHJvd3MKAghAYhcKAXkSEgoQCAYSDAoGEgRyb3dzCgIIAUIECgAQEQ=="
)


def probe(entries: Mapping[str, str]) -> int:
    """The smallest output of `PROBE_MODEL` on 255s, for one row and a block of rows
    (onnxruntime has a kernel for each), in a session with these config entries."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    # The weight rewrite is a level-2 optimization, as in the encoder's sessions.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    for key, value in entries.items():
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(PROBE_MODEL, options, providers=["CPUExecutionProvider"])
    return min(
        int(np.asarray(session.run(["y"], {"x": np.full((rows, _DEPTH), 255, np.uint8)})[0]).min())
        for rows in (1, 16)
    )


@functools.cache
def int8_session_entries() -> dict[str, str]:
    """Session config entries that make int8 products exact on this CPU: none where the U8S8
    kernel already is (VNNI, ARM), else the U8U8 precision mode. Raises ModelError if
    neither is exact."""
    if probe({}) == _EXACT:
        return {}
    entries = {PRECISION_MODE: "1"}
    if probe(entries) != _EXACT:
        raise ModelError(
            "onnxruntime's int8 matrix product overflows on this CPU even in its precision "
            "mode; use NEWSDESK_EMBEDDING_BACKEND=onnx (fp32)"
        )
    logger.info("this CPU's U8S8 int8 kernel saturates (no VNNI): using onnxruntime's U8U8 one")
    return entries


def int8_kernel() -> str:
    """What int8 products run on here, for the export manifest."""
    if int8_session_entries():
        return f"u8u8 ({PRECISION_MODE}=1: this CPU's u8s8 kernel saturates)"
    return "u8s8 (exact on this CPU)"
