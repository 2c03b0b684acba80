"""Exports a sentence-transformers model to ONNX, optimizes and quantizes it, and verifies it.

Runs once per model (on first use of an ONNX backend or by `newsdesk model export`) and needs
torch; the graphs it leaves are used without torch. The transformer is exported with the
TorchScript exporter (its graphs are the ones onnxruntime's BERT fusions recognize), then
fused (attention, layer norm, GELU) and quantized to int8 per output channel: the default
per-tensor scheme loses too much (mean cosine ~0.94 to fp32 on MiniLM). Each graph is compared
with the torch reference on a fixed sample and kept only if it is close enough.
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
from typing import Any

import numpy as np

from retrieval.embedding.model_files import ModelFiles, weights_sha256
from retrieval.embedding.onnx_cache import (
    FORMAT_VERSION,
    GRAPH_FILES,
    MIN_COSINE,
    write_manifest,
)
from retrieval.embedding.onnx_embedder import OnnxEmbedder
from retrieval.errors import NewsdeskError

logger = logging.getLogger(__name__)
OPSET = 17

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


def verification_sample() -> list[str]:
    texts = list(_SENTENCES)
    texts += [f"{a} {b}" for a, b in itertools.pairwise(_SENTENCES)]
    texts += [" ".join(_SENTENCES * k) for k in (1, 2)]
    return texts


def export_model(name: str, files: ModelFiles, folder: Path) -> dict[str, Any]:
    """Writes both graphs and the manifest into `folder`; returns the manifest. Raises
    NewsdeskError (and keeps nothing) if a graph is not close enough to the reference."""
    if files.model_type != "bert":
        raise NewsdeskError(
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
        _quantize(fp32, int8)
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
    model: Any = AutoModel.from_pretrained(str(files.folder), attn_implementation="eager")
    model.eval()

    class Transformer(torch.nn.Module):
        """Positional inputs, one output: what the exporter traces (keyword-only in HF 5)."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=True,
            ).last_hidden_state

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

    optimized: Any = optimize_model(
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


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():  # the quantizer logs through the root logger
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=True,
            weight_type=QuantType.QInt8,
            extra_options={
                "MatMulConstBOnly": True,
                # Fused contrib ops defeat shape inference; their outputs are float.
                "DefaultTensorType": onnx.TensorProto.FLOAT,
            },
        )


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


def _verify(name: str, files: ModelFiles, graphs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    from sentence_transformers import SentenceTransformer

    sample = verification_sample()
    reference_model: Any = SentenceTransformer(str(files.folder), device="cpu")
    reference = np.asarray(
        reference_model.encode(
            sample, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ),
        dtype=np.float32,
    )
    results: dict[str, dict[str, Any]] = {}
    failures = []
    for backend, graph in graphs.items():
        embedder = OnnxEmbedder(name, files, graph, backend=backend, batch_size=8)
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
        logger.info("%s: mean cosine %.5f (min %.5f) to torch", backend, mean, low)
        if not verified:
            failures.append(f"{backend} mean cosine {mean:.4f} < {MIN_COSINE[backend]}")
    if failures:
        raise NewsdeskError(
            "the ONNX export differs too much from the torch model ("
            + "; ".join(failures)
            + "); use NEWSDESK_EMBEDDING_BACKEND=torch"
        )
    return results


def _manifest(
    name: str, files: ModelFiles, graphs: dict[str, dict[str, Any]], seconds: float
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
        "quantization": "dynamic int8, per channel, MatMul weights (QInt8)",
        "graphs": graphs,
        "exported_at": time.time(),
        "export_seconds": round(seconds, 1),
        "machine": platform.machine(),
    }
