"""What an index holds, as users see it: its status and the list of its articles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from retrieval.embedding.onnx_cache import model_cache_dir
from retrieval.errors import IndexMissingError
from retrieval.index import location
from retrieval.index.manifest import stored_backend
from retrieval.index.store import ArticleOrder, Store, list_articles


@dataclass(frozen=True)
class IndexStatus:
    articles: int
    chunks: int
    model: str
    dimension: int
    size_bytes: int
    last_build: float | None
    generation: int
    path: Path
    embedding_backend: str = "torch"
    sentences: int = 0


@dataclass(frozen=True)
class ArticleSummary:
    id: str
    title: str
    url: str | None
    published: dt.datetime | None
    updated: dt.datetime | None
    source: str | None
    indexed_at: float
    chunks: int
    group: str | None = None  # the wire-copy group (its original's id), None when alone
    group_size: int = 0  # articles in the group (the original and its copies)

    @property
    def copy_of(self) -> str | None:
        """The original this article is a copy of (None for an original or a lone article)."""
        return self.group if self.group is not None and self.group != self.id else None


def read_status(index_dir: Path) -> IndexStatus:
    """What the index holds, read without loading a model (fast, for `index status`)."""
    database = location.current_database(index_dir)
    if database is None or not database.exists():
        raise IndexMissingError(f"no index in {index_dir}")
    store = Store(database, read_only=location.is_read_only(index_dir))
    manifest = store.manifest()
    articles, chunks = store.counts()
    models = model_cache_dir(index_dir)
    size = sum(
        p.stat().st_size
        for p in index_dir.rglob("*")
        if p.is_file() and not p.is_relative_to(models)  # exported models are not the index
    )
    last = manifest.get("last_build") or None
    return IndexStatus(
        articles=articles,
        chunks=chunks,
        model=manifest.get("model", "?"),
        dimension=int(manifest.get("dimension", "0")),
        size_bytes=size,
        last_build=float(last) if last else None,
        generation=int(manifest.get("generation", "0")),
        path=index_dir,
        embedding_backend=stored_backend(manifest),
        sentences=store.sentence_count(),
    )


def article_summaries(
    store: Store,
    search: str | None,
    *,
    limit: int,
    offset: int,
    order: ArticleOrder = "published",
) -> tuple[list[ArticleSummary], int]:
    """Newest first (by published date, or by time added); `search` filters on title or
    id. Returns (page, total matching)."""
    rows, total = list_articles(store, search, limit=limit, offset=offset, order=order)
    return [ArticleSummary(*row) for row in rows], total
