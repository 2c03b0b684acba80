"""What an index holds, as users see it: its status and the list of its articles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import IndexMissingError
from retrieval.index.manifest import stored_backend
from retrieval.index.store import ArticleOrder, Store, list_articles

if TYPE_CHECKING:
    from retrieval.index.home import IndexHome


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
    location: str = ""  # where the index is kept: the folder, or the database (no password)


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


def read_status(home: IndexHome) -> IndexStatus:
    """What the index holds, read without loading a model (fast, for `index status`)."""
    home.prepare()
    database = home.live()
    if database is None:
        raise IndexMissingError(f"no index in {home.describe()}")
    store = home.store(database, read_only=home.is_read_only())
    manifest = store.manifest()
    articles, chunks = store.counts()
    size = home.size_bytes(database)
    last = manifest.get("last_build") or None
    return IndexStatus(
        articles=articles,
        chunks=chunks,
        model=manifest.get("model", "?"),
        dimension=int(manifest.get("dimension", "0")),
        size_bytes=size,
        last_build=float(last) if last else None,
        generation=int(manifest.get("generation", "0")),
        path=home.index_dir,
        location=home.describe(),
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
