"""An immutable, searchable view of the index at one generation.

Writers build a new snapshot and swap the engine's reference, so a search never sees a
half-added article and never waits for a write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.documents import Article
from retrieval.index.bm25 import LexicalIndex
from retrieval.index.dense import DEFAULT_EXACT_LIMIT, DenseIndex
from retrieval.index.groups import CopyGroups
from retrieval.index.sentence_vectors import PassageRef, SentenceVectors
from retrieval.index.store import StoreContents
from retrieval.text.analyzer import Analyzer
from retrieval.text.chunking import embedding_text
from retrieval.text.passage_sentences import SentenceCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkTable:
    """Per-row chunk metadata; row order is chunk-id order (ids only ever grow)."""

    ids: np.ndarray  # int64 chunk ids, sorted
    article_ids: list[str]
    ordinals: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    # Each row's article's published time in epoch seconds, NaN when undated: time windows
    # compare it for every row, so it is an array beside the others (None: nothing dated).
    published: np.ndarray | None = None

    @classmethod
    def empty(cls) -> ChunkTable:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, [], z, z, z)

    def __len__(self) -> int:
        return len(self.article_ids)

    def rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ids, chunk_ids)

    def published_times(self) -> np.ndarray:
        """`published`, or all NaN when nothing is dated."""
        if self.published is not None:
            return self.published
        return np.full(len(self), np.nan)


class RowBuffer:
    """Storage for a snapshot's vectors with room to append, so an add does not copy every
    vector (1.5 GB at a million chunks). Snapshots view its first rows; an add writes past
    the rows its snapshot views, which older snapshots never read. `used` says how far rows
    are taken, so a second snapshot made from the same old one copies instead of writing
    over the first one's rows (writes are serialized by the engine's lock)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.data = rows
        self.used = len(rows)

    def append(self, viewed: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, RowBuffer]:
        """`viewed` (a view of this buffer's first rows) followed by `new`."""
        end = len(viewed) + len(new)
        is_prefix = viewed is self.data or viewed.base is self.data
        if is_prefix and self.used == len(viewed) and end <= len(self.data):
            self.data[len(viewed) : end] = new
            self.used = end
            return self.data[:end], self
        # A new buffer with ~1/8 spare: copies happen once per that many added rows.
        spare = max(4096, end // 8)
        data = np.empty((end + spare, viewed.shape[1]), dtype=viewed.dtype)
        data[: len(viewed)] = viewed
        data[len(viewed) : end] = new
        grown = RowBuffer(data)
        grown.used = end
        return data[:end], grown


@dataclass(frozen=True)
class Snapshot:
    generation: int
    articles: dict[str, Article]
    chunks: ChunkTable
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex
    # Safe to share across searches because the rows never change; a new snapshot (also
    # one made by dataclasses.replace) starts with an empty one.
    sentences: SentenceCache = field(
        default_factory=SentenceCache, init=False, repr=False, compare=False
    )
    # Where `vectors` lives when it has room to grow (None: a plain array, copied on add).
    row_buffer: RowBuffer | None = field(default=None, repr=False, compare=False)
    # Vectors of single sentences (None: the index has none, the rerank goes without).
    sentence_vectors: SentenceVectors | None = field(default=None, repr=False, compare=False)
    # Wire-copy groups (index/groups.py): the search quotes one copy of each.
    copies: CopyGroups = field(default_factory=CopyGroups, repr=False, compare=False)

    def passage(self, row: int) -> tuple[str, int, int]:
        """The row's article text and where in it the chunk starts and ends."""
        article = self.articles[self.chunks.article_ids[row]]
        return article.text, int(self.chunks.starts[row]), int(self.chunks.ends[row])

    def passage_ref(self, row: int) -> PassageRef:
        article = self.articles[self.chunks.article_ids[row]]
        return PassageRef(
            article.id,
            article.content_hash,
            int(self.chunks.starts[row]),
            int(self.chunks.ends[row]),
        )

    def closest_sentence_cosines(
        self, rows: Sequence[int], query_vector: np.ndarray
    ) -> list[float]:
        """For each row, the question's cosine with the closest sentence inside the passage,
        or with the whole passage when it has no sentence encoded on its own."""
        inside: list[np.ndarray] = []
        if self.sentence_vectors is not None:
            inside = self.sentence_vectors.within([self.passage_ref(r) for r in rows])
        cosines = []
        for position, row in enumerate(rows):
            vectors = inside[position] if inside else self.vectors[row : row + 1]
            if not len(vectors):
                vectors = self.vectors[row : row + 1]
            cosines.append(float((vectors @ query_vector).max()))  # unit vectors: dot = cosine
        return cosines

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
    sentence_vectors: SentenceVectors | None = None,
) -> Snapshot:
    table = chunk_table(contents)
    return Snapshot(
        generation=contents.generation,
        articles=contents.articles,
        chunks=table,
        vectors=contents.vectors,
        dense=DenseIndex.build(table.ids, contents.vectors, dimension, exact_limit=exact_limit),
        lexical=LexicalIndex.build(_tokens(contents, table, analyzer)),
        sentence_vectors=sentence_vectors,
        copies=CopyGroups.of(contents.groups, list(contents.groups)),
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
    `added`; only the new chunks (and the removed ones) are tokenized."""
    gone = removed | set(added.articles)
    touched = any(aid in old.articles for aid in gone)  # else a plain add: every row stays
    stays = np.ones(len(old.chunks), dtype=bool)
    if touched:
        stays = np.array([aid not in gone for aid in old.chunks.article_ids], dtype=bool)
    keep = np.flatnonzero(stays)
    everything = len(keep) == len(old.chunks)
    # A plain add copies each per-row array once (no fancy indexing, no reordering).
    new_table = chunk_table(added)
    table = ChunkTable(
        ids=np.concatenate([_rows(old.chunks.ids, keep, everything), new_table.ids]),
        article_ids=(
            old.chunks.article_ids
            if everything
            else [old.chunks.article_ids[i] for i in keep.tolist()]
        )
        + new_table.article_ids,
        ordinals=np.concatenate([_rows(old.chunks.ordinals, keep, everything), new_table.ordinals]),
        starts=np.concatenate([_rows(old.chunks.starts, keep, everything), new_table.starts]),
        ends=np.concatenate([_rows(old.chunks.ends, keep, everything), new_table.ends]),
        published=_published_after(old.chunks, keep, everything, new_table),
    )
    buffer = None
    if everything and old.row_buffer is not None:
        vectors, buffer = old.row_buffer.append(old.vectors, added.vectors)
    elif everything:
        vectors, buffer = RowBuffer(old.vectors).append(old.vectors, added.vectors)
    else:
        vectors = np.concatenate([old.vectors[keep], added.vectors])
    order = np.argsort(table.ids, kind="stable")
    reordered = not np.array_equal(order, np.arange(len(order)))
    if reordered:
        # Only when another process wrote in between; keep rows in id order regardless.
        table = ChunkTable(
            table.ids[order],
            [table.article_ids[i] for i in order.tolist()],
            table.ordinals[order],
            table.starts[order],
            table.ends[order],
            None if table.published is None else table.published[order],
        )
        vectors = vectors[order]
        buffer = None
    if touched:
        articles = {aid: a for aid, a in old.articles.items() if aid not in gone}
    else:
        articles = dict(old.articles)
    articles.update(added.articles)
    lexical = _next_lexical(
        old, keep, _tokens(added, new_table, analyzer), order if reordered else None, analyzer
    )
    dense = old.dense.updated(
        removed_ids=old.chunks.ids[~stays],
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
        lexical=lexical,
        row_buffer=buffer,
        sentence_vectors=old.sentence_vectors,
        copies=CopyGroups.of(added.groups, list(added.groups)),
    )


def _next_lexical(
    old: Snapshot,
    keep: np.ndarray,
    added_tokens: list[list[str]],
    order: np.ndarray | None,
    analyzer: Analyzer,
) -> LexicalIndex:
    """BM25 after the change: the old index with the change recorded, which costs in
    proportion to the changed rows (compacted when changes add up, see lexical.py). Built
    from scratch, tokenizing every row, only when rows are reordered (another process wrote
    in between) or the index was saved without row lengths by an older version."""
    lexical = old.lexical
    if order is None and lexical.can_update:
        gone = np.ones(len(old.chunks), dtype=bool)
        gone[keep] = False
        removed_rows = np.flatnonzero(gone)
        removed_tokens = analyzer.tokens(old.embedding_texts(removed_rows.tolist()))
        try:
            updated = lexical.updated(removed_rows, removed_tokens, added_tokens)
        except ValueError as exc:
            logger.warning("rebuilding the BM25 index (%s)", exc)
        else:
            if not updated.wants_compaction():
                return updated
            compacted = updated.compacted()
            if compacted is not None:
                return compacted
            logger.warning("rebuilding the BM25 index: its scores could not be read back")
    tokens = analyzer.tokens(old.embedding_texts(keep.tolist())) + added_tokens
    if order is not None:
        tokens = [tokens[i] for i in order.tolist()]
    return LexicalIndex.build(tokens)


def _rows(values: np.ndarray, keep: np.ndarray, everything: bool) -> np.ndarray:
    return values if everything else values[keep]


def _published_after(
    old: ChunkTable, keep: np.ndarray, everything: bool, new: ChunkTable
) -> np.ndarray | None:
    if old.published is None and new.published is None:
        return None
    return np.concatenate([_rows(old.published_times(), keep, everything), new.published_times()])


def _published_column(contents: StoreContents) -> np.ndarray | None:
    times = {
        aid: article.published.timestamp()
        for aid, article in contents.articles.items()
        if article.published is not None
    }
    if not times:
        return None
    return np.array([times.get(c.article_id, np.nan) for c in contents.chunks], dtype=np.float64)


def chunk_table(contents: StoreContents) -> ChunkTable:
    if not contents.chunks:
        return ChunkTable.empty()
    return ChunkTable(
        ids=np.array([c.id for c in contents.chunks], dtype=np.int64),
        article_ids=[c.article_id for c in contents.chunks],
        ordinals=np.array([c.ordinal for c in contents.chunks], dtype=np.int64),
        starts=np.array([c.start for c in contents.chunks], dtype=np.int64),
        ends=np.array([c.end for c in contents.chunks], dtype=np.int64),
        published=_published_column(contents),
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
