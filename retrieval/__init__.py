"""newsdesk's retrieval library: load, chunk, index and search articles. Never imports discord.

The names below are its public API, what the bot and other callers use; the modules behind
them are free to move. They load on first use (PEP 562), so `import retrieval.settings` does
not pull in the engine and its numpy stack (`newsdesk --help` stays instant).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.collection import (
        IngestOutcome,
        add_article,
        add_sources,
        remove_article,
        sync_with_folder,
    )
    from retrieval.documents import Article
    from retrieval.embedding import Embedder, load_embedder
    from retrieval.engine import Engine
    from retrieval.evaluation import evaluate, load_queries
    from retrieval.index.catalogue import ArticleSummary, IndexStatus, read_status
    from retrieval.index.writer import SyncReport
    from retrieval.loaders import article_from_text, fetch_article, load_file, load_folder
    from retrieval.progress import Progress
    from retrieval.search.results import Hit, SearchResult
    from retrieval.settings import RetrievalSettings, SearchMode

__all__ = [
    "Article",
    "ArticleSummary",
    "Embedder",
    "Engine",
    "Hit",
    "IndexStatus",
    "IngestOutcome",
    "Progress",
    "RetrievalSettings",
    "SearchMode",
    "SearchResult",
    "SyncReport",
    "add_article",
    "add_sources",
    "article_from_text",
    "evaluate",
    "fetch_article",
    "load_embedder",
    "load_file",
    "load_folder",
    "load_queries",
    "read_status",
    "remove_article",
    "sync_with_folder",
]
_EXPORTS = {
    "Article": "retrieval.documents",
    "ArticleSummary": "retrieval.index.catalogue",
    "Embedder": "retrieval.embedding",
    "Engine": "retrieval.engine",
    "Hit": "retrieval.search.results",
    "IndexStatus": "retrieval.index.catalogue",
    "IngestOutcome": "retrieval.collection",
    "Progress": "retrieval.progress",
    "RetrievalSettings": "retrieval.settings",
    "SearchMode": "retrieval.settings",
    "SearchResult": "retrieval.search.results",
    "SyncReport": "retrieval.index.writer",
    "add_article": "retrieval.collection",
    "add_sources": "retrieval.collection",
    "article_from_text": "retrieval.loaders",
    "evaluate": "retrieval.evaluation",
    "fetch_article": "retrieval.loaders",
    "load_embedder": "retrieval.embedding",
    "load_file": "retrieval.loaders",
    "load_folder": "retrieval.loaders",
    "load_queries": "retrieval.evaluation",
    "read_status": "retrieval.index.catalogue",
    "remove_article": "retrieval.collection",
    "sync_with_folder": "retrieval.collection",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found once; later lookups don't come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
