"""An immutable, searchable view of the index at one generation.

Writers build a new snapshot and swap the engine's reference, so a search never sees a
half-added article and never waits for a write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.chunking import embedding_text
from retrieval.documents import Article
from retrieval.index.dense import DEFAULT_EXACT_LIMIT, DenseIndex
from retrieval.index.lexical import Analyzer, LexicalIndex
from retrieval.index.store import StoreContents


@dataclass(frozen=True)
class ChunkTable:
    """Per-row chunk metadata; row order is chunk-id order (ids only ever grow)."""

    ids: np.ndarray  # int64 chunk ids, sorted
    article_ids: list[str]
    ordinals: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def empty(cls) -> ChunkTable:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, [], z, z, z)

    def __len__(self) -> int:
        return len(self.article_ids)

    def rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ids, chunk_ids)


@dataclass(frozen=True)
class Snapshot:
    generation: int
    articles: dict[str, Article]
    chunks: ChunkTable
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex
    # BM25 tokens per row, kept so a write can rebuild BM25 without re-tokenizing everything;
    # None after loading from disk until the first write needs them.
    tokens: list[list[str]] | None = field(default=None, repr=False)

    def chunk_text(self, row: int) -> str:
        article = self.articles[self.chunks.article_ids[row]]
        return article.text[int(self.chunks.starts[row]) : int(self.chunks.ends[row])]

    def embedding_texts(self, rows: Sequence[int]) -> list[str]:
        return [
            embedding_text(self.articles[self.chunks.article_ids[r]].title, self.chunk_text(r))
            for r in rows
        ]


def build_snapshot(
    contents: StoreContents,
    analyzer: Analyzer,
    dimension: int,
    *,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> Snapshot:
    table = chunk_table(contents)
    tokens = _tokens(contents, table, analyzer)
    return Snapshot(
        generation=contents.generation,
        articles=contents.articles,
        chunks=table,
        vectors=contents.vectors,
        dense=DenseIndex.build(table.ids, contents.vectors, dimension, exact_limit=exact_limit),
        lexical=LexicalIndex.build(tokens),
        tokens=tokens,
    )


def apply_changes(
    old: Snapshot,
    *,
    removed: set[str],
    added: StoreContents,
    analyzer: Analyzer,
    dimension: int,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
) -> Snapshot:
    """A new snapshot without `removed` articles (and old versions of re-added ones) plus
    `added`; only the new chunks are tokenized."""
    gone = removed | set(added.articles)
    keep = np.array(
        [i for i, aid in enumerate(old.chunks.article_ids) if aid not in gone], dtype=np.int64
    )
    old_tokens = old.tokens
    if old_tokens is None:
        old_tokens = analyzer.tokens(old.embedding_texts(range(len(old.chunks))))
    new_table = chunk_table(added)
    table = ChunkTable(
        ids=np.concatenate([old.chunks.ids[keep], new_table.ids]),
        article_ids=[old.chunks.article_ids[i] for i in keep.tolist()] + new_table.article_ids,
        ordinals=np.concatenate([old.chunks.ordinals[keep], new_table.ordinals]),
        starts=np.concatenate([old.chunks.starts[keep], new_table.starts]),
        ends=np.concatenate([old.chunks.ends[keep], new_table.ends]),
    )
    order = np.argsort(table.ids, kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        # Only when another process wrote in between; keep rows in id order regardless.
        table = ChunkTable(
            table.ids[order],
            [table.article_ids[i] for i in order.tolist()],
            table.ordinals[order],
            table.starts[order],
            table.ends[order],
        )
    articles = {aid: a for aid, a in old.articles.items() if aid not in gone}
    articles.update(added.articles)
    vectors = np.concatenate([old.vectors[keep], added.vectors])[order]
    tokens_all = [old_tokens[i] for i in keep.tolist()] + _tokens(added, new_table, analyzer)
    tokens_all = [tokens_all[i] for i in order.tolist()]
    dense = old.dense.updated(
        removed_ids=np.setdiff1d(old.chunks.ids, old.chunks.ids[keep]),
        added_ids=new_table.ids,
        added_vectors=added.vectors,
        all_ids=table.ids,
        all_vectors=vectors,
        exact_limit=exact_limit,
    )
    return Snapshot(
        generation=added.generation,
        articles=articles,
        chunks=table,
        vectors=vectors,
        dense=dense,
        lexical=LexicalIndex.build(tokens_all),
        tokens=tokens_all,
    )


def chunk_table(contents: StoreContents) -> ChunkTable:
    if not contents.chunks:
        return ChunkTable.empty()
    return ChunkTable(
        ids=np.array([c.id for c in contents.chunks], dtype=np.int64),
        article_ids=[c.article_id for c in contents.chunks],
        ordinals=np.array([c.ordinal for c in contents.chunks], dtype=np.int64),
        starts=np.array([c.start for c in contents.chunks], dtype=np.int64),
        ends=np.array([c.end for c in contents.chunks], dtype=np.int64),
    )


def _tokens(contents: StoreContents, table: ChunkTable, analyzer: Analyzer) -> list[list[str]]:
    texts = [
        embedding_text(
            contents.articles[aid].title,
            contents.articles[aid].text[int(s) : int(e)],
        )
        for aid, s, e in zip(table.article_ids, table.starts, table.ends, strict=True)
    ]
    return analyzer.tokens(texts)
