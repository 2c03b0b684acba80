"""The composition root: the one place that builds settings, the encoder, the engine and the bot.

Nothing heavy happens at import time; each builder is called by the command that needs it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from retrieval.embedding import Embedder
from retrieval.engine import Engine
from retrieval.index.catalogue import IndexStatus
from retrieval.settings import RetrievalSettings

QUIET_LOGGERS = ("faiss", "faiss.loader", "bm25s", "sentence_transformers", "transformers", "httpx")


def configure_logging(verbose: int = 0) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def offline_environment() -> None:
    """No model hub is reachable: fail fast instead of retrying, and keep output quiet."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_settings(**overrides: object) -> RetrievalSettings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return RetrievalSettings(**values)  # type: ignore[arg-type]


def build_embedder(settings: RetrievalSettings) -> Embedder:
    offline_environment()
    from retrieval.embedding import load_embedder

    return load_embedder(
        settings.model,
        batch_size=settings.embed_batch_size,
        backend=settings.embedding_backend,
        cache_dir=models_dir(settings),
    )


def models_dir(settings: RetrievalSettings) -> Path:
    """Where ONNX exports are cached: NEWSDESK_MODEL_CACHE_DIR or `<index dir>/models`."""
    from retrieval.embedding.onnx_cache import model_cache_dir

    return settings.model_cache_dir or model_cache_dir(settings.index_dir)


def export_model(settings: RetrievalSettings, *, force: bool) -> tuple[Path, dict[str, Any]]:
    """The ONNX export of the configured model (made now if missing, stale or `force`d):
    its folder and manifest."""
    offline_environment()
    from retrieval.embedding.factory import export_onnx, model_folder
    from retrieval.embedding.model_files import read_model_files
    from retrieval.embedding.onnx_cache import (
        GRAPH_FILES,
        export_folder,
        read_manifest,
        usable_graph,
    )

    cache_dir = models_dir(settings)
    folder = export_folder(cache_dir, settings.model)
    files = read_model_files(model_folder(settings.model))
    fresh = all(usable_graph(folder, files, backend) for backend in GRAPH_FILES)
    if force or not fresh:
        export_onnx(settings.model, cache_dir)
    return folder, read_manifest(folder) or {}


def build_engine(
    settings: RetrievalSettings, *, embedder: Embedder | None = None, create: bool = True
) -> Engine:
    engine = Engine(settings, embedder or build_embedder(settings))
    return engine.open(create=create)


def build_engine_for_full_rebuild(
    settings: RetrievalSettings, *, embedder: Embedder | None = None
) -> Engine:
    """An engine that has not opened the old index: it may have been built for other settings."""
    return Engine(settings, embedder or build_embedder(settings))


def read_index_status(settings: RetrievalSettings) -> IndexStatus:
    """Index status without loading the model (fast)."""
    from retrieval.index.catalogue import read_status

    return read_status(settings.index_dir)


def with_index_dir(settings: RetrievalSettings, index_dir: Path) -> RetrievalSettings:
    return settings.model_copy(update={"index_dir": index_dir})
