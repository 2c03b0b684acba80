"""Exports a sentence-transformers model to ONNX, optimizes and quantizes it, and verifies it.

Runs once per model (on first use of an ONNX backend or by `newsdesk model export`) and needs
torch; the graphs it leaves are used without torch. The transformer is exported with the
TorchScript exporter (its graphs are the ones onnxruntime's BERT fusions recognize), then
fused (attention, layer norm, GELU) and quantized to int8 (see `_quantize` for the recipe and
why). Each graph is compared with the torch reference on a fixed sample and kept only if it is
close enough.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict

import numpy as np

from retrieval.embedding.int8_kernel import int8_kernel
from retrieval.embedding.model_files import ModelFiles, weights_sha256
from retrieval.embedding.onnx_cache import (
    FORMAT_VERSION,
    GRAPH_FILES,
    GRAPH_RECIPES,
    MIN_COSINE,
    write_manifest,
)
from retrieval.embedding.onnx_embedder import OnnxEmbedder, OrtSession
from retrieval.errors import ModelError

if TYPE_CHECKING:
    import onnx
    import torch

logger = logging.getLogger(__name__)
OPSET = 17
# Input channels of each feed-forward MatMul kept in float beside its int8 product (see
# `_quantize`); MiniLM has one to three outliers per layer, a few more cost nothing measurable.
OUTLIER_CHANNELS = 8

# A fixed sample for verification: short questions, sentences, and passages long enough to be
# truncated at the model's window, so every path (padding, truncation) is compared.
_SENTENCES = (
    "What did Kerry want from the Moscow talks?",
    "The queen lays up to two thousand eggs a day in spring.",
    "Oxygen is the third most abundant element in the universe by mass.",
    "Who won Super Bowl 50?",
    "The Black Death killed an estimated 75 to 200 million people in Eurasia.",
    "Packet switching groups data into packets sent over a digital network.",
    "The steam engine did mechanical work using steam as its working fluid.",
    "In 1973 the Arab members of OPEC proclaimed an oil embargo.",
    "A prime number is a natural number greater than 1 with no positive divisors but 1 and itself.",
    "Computational complexity theory classifies problems by the resources they require.",
    "The Amazon rainforest covers most of the Amazon basin of South America.",
    "The Normans were descended from Norse raiders and pirates from Denmark, Iceland and Norway.",
    "Geology is an earth science concerned with the solid Earth and the rocks of which it is "
    "composed.",
    "The IPCC was set up in 1988 by the World Meteorological Organization and UNEP.",
    "ok",
    "Température, café, naïve résumé — unicode should tokenize the same way in both paths.",
)


class GraphCheck(TypedDict):
    """How close one exported graph came to the torch reference (the manifest's `graphs`)."""

    file: str
    bytes: int
    mean_cosine_to_torch: float
    min_cosine_to_torch: float
    required_mean_cosine: float
    sample_texts: int
    verified: bool
    int8_matmul: NotRequired[str]  # the int8 kernel this CPU ran the check with


class _OptimizedGraph(Protocol):
    """What onnxruntime's `optimize_model` returns (an `OnnxModel`), as used here."""

    def get_fused_operator_statistics(self) -> dict[str, int]: ...

    def save_model_to_file(self, output_path: str) -> None: ...


def verification_sample() -> list[str]:
    texts = list(_SENTENCES)
    texts += [f"{a} {b}" for a, b in itertools.pairwise(_SENTENCES)]
    texts += [" ".join(_SENTENCES * k) for k in (1, 2)]
    return texts


def export_model(name: str, files: ModelFiles, folder: Path) -> dict[str, Any]:
    """Writes both graphs and the manifest into `folder`; returns the manifest. Raises
    ModelError (and keeps nothing) if a graph is not close enough to the reference."""
    if files.model_type != "bert":
        raise ModelError(
            f"the ONNX backends support BERT-family models, not {files.model_type!r}; "
            "use NEWSDESK_EMBEDDING_BACKEND=torch"
        )
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".export-"))
    try:
        raw = work / "raw.onnx"
        _export_transformer(files, raw)
        fp32 = work / GRAPH_FILES["onnx"]
        _optimize(files, raw, fp32)
        int8 = work / GRAPH_FILES["onnx-int8"]
        _quantize(files, fp32, int8)
        graphs = _verify(name, files, {"onnx": fp32, "onnx-int8": int8})
        for backend, graph in (("onnx", fp32), ("onnx-int8", int8)):
            os.replace(graph, folder / GRAPH_FILES[backend])
        manifest = _manifest(name, files, graphs, time.perf_counter() - started)
        write_manifest(folder, manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("exported %s to %s in %.1fs", name, folder, manifest["export_seconds"])
    return manifest


def _export_transformer(files: ModelFiles, target: Path) -> None:
    import torch
    from transformers import AutoModel

    # Eager attention: the graph onnxruntime's fusions recognize (SDPA exports differently).
    model = AutoModel.from_pretrained(str(files.folder), attn_implementation="eager")
    model.eval()

    class Transformer(torch.nn.Module):
        """Positional inputs, one output: what the exporter traces (keyword-only in HF 5)."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden: torch.Tensor = self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=True,
            ).last_hidden_state
            return hidden

    length = 16
    dummy = (
        torch.ones((2, length), dtype=torch.int64),
        torch.ones((2, length), dtype=torch.int64),
        torch.zeros((2, length), dtype=torch.int64),
    )
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        # Tracing notes about data-dependent branches and index ops; the verification below
        # is what tells whether the graph is right.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index")
        # Deliberately the TorchScript exporter (its graphs match onnxruntime's BERT fusions),
        # which warns that it and its helpers are deprecated; scoped to this call.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            Transformer(),
            dummy,
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _optimize(files: ModelFiles, source: Path, target: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    optimized: _OptimizedGraph = optimize_model(
        str(source),
        model_type="bert",
        num_heads=files.num_heads,
        hidden_size=files.hidden_size,
        opt_level=1,
        use_gpu=False,
    )
    fused = optimized.get_fused_operator_statistics()
    logger.info("onnxruntime fusions: %s", {k: v for k, v in fused.items() if v})
    optimized.save_model_to_file(str(target))


def _quantize(files: ModelFiles, source: Path, target: Path) -> None:
    """Dynamic int8: weights per output channel (per tensor loses too much: mean cosine ~0.94),
    activations per tensor, scaled at run time by their largest value.

    That last part is what hurt: the inputs of BERT's feed-forward MatMuls have a few channels
    ~10x larger than the rest (MiniLM's first FFN output: 24 against a median peak of 2); they
    set the int8 step for every other value, and the FFN MatMuls made ~3/4 of the int8 error
    (the first layers' FFN outputs most). Leaving the FFN outputs in fp32 fixes it but gives
    up half of int8's speed gain over fp32. Instead, in every FFN MatMul the OUTLIER_CHANNELS
    input channels largest on the verification sample are taken out of the quantized product
    and multiplied in fp32 beside it (as LLM.int8() does), so the int8 range fits the rest.
    Measured on the shared sets against torch: mean cosine 0.994 -> 0.998, dense top-5
    overlap 0.884 -> 0.935 (Cranfield) and 0.925 -> 0.953 (SQuAD), for ~7 % of int8's speed
    on one thread and ~13 % in bulk. The sample only picks which channels are exact; the
    quantization ranges still come from each input at run time.

    The weights use the full int8 range: on CPUs without VNNI the loader has onnxruntime run
    them through its exact U8U8 kernel rather than the saturating U8S8 one (`int8_kernel`),
    so this graph gives the same vectors everywhere, and 7-bit weights (`reduce_range`),
    which cost precision on every CPU, are not needed.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    matmuls = feed_forward_matmuls(model)
    kept_float = split_outlier_channels(
        model, _input_peaks(files, model, matmuls), OUTLIER_CHANNELS
    )
    with _quiet_root_logger():  # the quantizer logs through the root logger
        quantize_dynamic(
            model,
            str(target),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization"],
            nodes_to_exclude=kept_float,
            extra_options={
                "MatMulConstBOnly": True,
                # Fused contrib ops defeat shape inference; their outputs are float.
                "DefaultTensorType": onnx.TensorProto.FLOAT,
            },
        )


def feed_forward_matmuls(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The MatMuls into and out of each feed-forward block: those with a constant 2-D weight
    that is not square (hidden -> intermediate and back; the attention output projection is
    square, the query/key/value projections are fused into the Attention nodes)."""
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    found = []
    for node in model.graph.node:
        shape = shapes.get(node.input[1], ()) if node.op_type == "MatMul" else ()
        if len(shape) == 2 and shape[0] != shape[1]:
            found.append(node)
    return found


def _input_peaks(
    files: ModelFiles, model: onnx.ModelProto, nodes: list[onnx.NodeProto]
) -> dict[str, np.ndarray]:
    """Largest |value| of each input channel of `nodes` (by node name) over the verification
    sample, each text run alone so padding plays no part."""
    import onnx
    import onnxruntime as ort
    from tokenizers import Tokenizer

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inputs = sorted({node.input[0] for node in nodes})
    probe.graph.output.extend(
        onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in inputs
    )
    session: OrtSession = ort.InferenceSession(
        probe.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feeds_wanted = {i.name for i in session.get_inputs()}
    tokenizer = Tokenizer.from_file(str(files.tokenizer_file))
    tokenizer.enable_truncation(max_length=files.max_tokens)
    tokenizer.no_padding()
    peaks: dict[str, np.ndarray] = {}
    for text in verification_sample():
        ids = np.asarray([tokenizer.encode(text).ids], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        values = session.run(inputs, {k: v for k, v in feeds.items() if k in feeds_wanted})
        for name, value in zip(inputs, values, strict=True):
            peak = np.abs(np.asarray(value)).reshape(-1, value.shape[-1]).max(axis=0)
            peaks[name] = np.maximum(peaks[name], peak) if name in peaks else peak
    return {node.name: peaks[node.input[0]] for node in nodes}


def split_outlier_channels(
    model: onnx.ModelProto, peaks: dict[str, np.ndarray], channels: int
) -> list[str]:
    """Rewrites each MatMul named in `peaks` (input x, constant weight W) so that its
    `channels` input channels with the largest peak are multiplied in float on the side:
    y = (x * mask) @ (W with those rows zeroed) + x[..., idx] @ W[idx]. Exact in fp32; the
    first product is the one quantized, with a range no longer set by the outliers. Returns
    the names of the side MatMuls, which must stay float. Weights shared by several nodes are
    left alone."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    nodes: list[onnx.NodeProto] = []
    kept_float: list[str] = []
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.name in peaks else None
        if weight is None or uses[weight.name] != 1:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        k = min(channels, w.shape[0] - 1)
        index = np.sort(np.argsort(-peaks[node.name], kind="stable")[:k]).astype(np.int64)
        mask = np.ones(w.shape[0], dtype=w.dtype)
        mask[index] = 0
        weight.CopyFrom(numpy_helper.from_array(w * mask[:, None], weight.name))
        p = node.name
        graph.initializer.extend(
            [
                numpy_helper.from_array(mask, f"{p}_inlier_mask"),
                numpy_helper.from_array(index, f"{p}_outlier_index"),
                numpy_helper.from_array(np.ascontiguousarray(w[index]), f"{p}_outlier_weight"),
            ]
        )
        x, y = node.input[0], node.output[0]
        inliers, outliers = f"{p}_inliers", f"{p}_outliers"
        node.input[0], node.output[0] = inliers, f"{p}_inlier_product"
        nodes += [
            helper.make_node("Mul", [x, f"{p}_inlier_mask"], [inliers], name=f"{p}_mask"),
            helper.make_node(
                "Gather", [x, f"{p}_outlier_index"], [outliers], name=f"{p}_gather", axis=-1
            ),
            helper.make_node(
                "MatMul",
                [outliers, f"{p}_outlier_weight"],
                [f"{p}_outlier_product"],
                name=f"{p}_outlier_matmul",
            ),
            node,
            helper.make_node(
                "Add",
                [f"{p}_inlier_product", f"{p}_outlier_product"],
                [y],
                name=f"{p}_add_outliers",
            ),
        ]
        kept_float.append(f"{p}_outlier_matmul")
    del graph.node[:]
    graph.node.extend(nodes)
    return kept_float


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    if level < logging.ERROR and not logger.isEnabledFor(logging.DEBUG):
        root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _verify(name: str, files: ModelFiles, graphs: dict[str, Path]) -> dict[str, GraphCheck]:
    from sentence_transformers import SentenceTransformer

    sample = verification_sample()
    reference_model = SentenceTransformer(str(files.folder), device="cpu")
    reference = np.asarray(
        reference_model.encode(
            sample, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ),
        dtype=np.float32,
    )
    results: dict[str, GraphCheck] = {}
    failures = []
    for backend, graph in graphs.items():
        embedder = OnnxEmbedder(
            name, files, graph, backend=backend, recipe=GRAPH_RECIPES[backend], batch_size=8
        )
        vectors = embedder.encode(sample)
        single = np.stack([embedder.encode_query(t) for t in sample[:8]])
        cosines = np.concatenate(
            [(vectors * reference).sum(axis=1), (single * reference[:8]).sum(axis=1)]
        )
        mean, low = float(cosines.mean()), float(cosines.min())
        verified = mean >= MIN_COSINE[backend]
        results[backend] = {
            "file": graph.name,
            "bytes": graph.stat().st_size,
            "mean_cosine_to_torch": round(mean, 6),
            "min_cosine_to_torch": round(low, 6),
            "required_mean_cosine": MIN_COSINE[backend],
            "sample_texts": len(sample),
            "verified": verified,
        }
        if backend == "onnx-int8":
            results[backend]["int8_matmul"] = int8_kernel()
        logger.info("%s: mean cosine %.5f (min %.5f) to torch", backend, mean, low)
        if not verified:
            failures.append(f"{backend} mean cosine {mean:.4f} < {MIN_COSINE[backend]}")
    if failures:
        raise ModelError(
            "the ONNX export differs too much from the torch model ("
            + "; ".join(failures)
            + "); use NEWSDESK_EMBEDDING_BACKEND=torch"
        )
    return results


def _manifest(
    name: str, files: ModelFiles, graphs: dict[str, GraphCheck], seconds: float
) -> dict[str, Any]:
    import onnx
    import onnxruntime
    import torch

    size, mtime = files.weights_stat()
    return {
        "format_version": FORMAT_VERSION,
        "source": {
            "model": name,
            "folder": str(files.folder),
            "weights_file": files.weights.name,
            "weights_sha256": weights_sha256(files.weights),
            "weights_stat": [size, mtime],
        },
        "opset": OPSET,
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "torch": torch.__version__,
        "quantization": (
            "dynamic int8 (QInt8 weights per output channel, uint8 activations per tensor) of "
            "the MatMul, Attention and embedding nodes; in each feed-forward MatMul the "
            f"{OUTLIER_CHANNELS} input channels largest on the verification sample stay fp32; "
            "run with exact int8 products on every CPU (U8U8 where U8S8 saturates)"
        ),
        "graphs": graphs,
        "exported_at": time.time(),
        "export_seconds": round(seconds, 1),
        "machine": platform.machine(),
    }
