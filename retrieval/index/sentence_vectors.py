"""Vectors of single sentences, read from the store only for the passages a search reranks.

Kept out of memory on purpose: there are ~6 sentences per passage, so holding them would
cost several times the passage vectors, while a rerank needs those of at most a few dozen
passages, which SQLite reads in about a millisecond.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.index.store import database_uri

logger = logging.getLogger(__name__)

# The article's content hash is checked so that a search on an older snapshot never pairs
# its passages with the sentences of a newer version of the article.
_WITHIN = (
    "SELECT s.start, s.end, e.vector FROM sentences s "
    "JOIN articles a ON a.id = s.article_id "
    "JOIN embeddings e ON e.hash = s.embed_hash "
    "WHERE s.article_id = ? AND a.content_hash = ? AND s.start >= ? AND s.end <= ? "
    "ORDER BY s.start"
)


@dataclass(frozen=True)
class PassageRef:
    """Where a passage is: its article (and the version of it) and its character span."""

    article_id: str
    content_hash: str
    start: int
    end: int


class SentenceVectors(Protocol):
    def within(self, passages: Sequence[PassageRef]) -> list[np.ndarray]:
        """For each passage, the unit vectors (n, dimension) of the sentences inside it that
        were encoded on their own; n is 0 when there are none (a one-passage article, a
        sentence longer than a passage, or an article replaced since the snapshot)."""
        ...

    def spans_within(self, passages: Sequence[PassageRef]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The same with where each sentence is: (n, 2) article spans and (n, dimension)
        vectors, in text order (what the answer sentence is chosen with)."""
        ...


class _Reading(Protocol):
    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def close(self) -> None: ...


class StoredSentenceVectors:
    """Sentence vectors of one index database, read on demand."""

    def __init__(self, database: Path, dimension: int, *, read_only: bool = False) -> None:
        # mode=rw: a database that a full rebuild has since removed is not created again as
        # an empty file (rw rather than ro: the last connection to close must be able to
        # checkpoint and delete the WAL file), unless the index is opened read-only.
        uri = database_uri(database, read_only=read_only)
        self._connect: Callable[[], _Reading] = lambda: sqlite3.connect(
            uri, uri=True, timeout=5.0, isolation_level=None
        )
        self._errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        self._dimension = dimension

    @classmethod
    def through(
        cls, connect: Callable[[], _Reading], errors: tuple[type[Exception], ...], dimension: int
    ) -> StoredSentenceVectors:
        """Read through another database's connections (PostgreSQL: the same SQL)."""
        reader = cls.__new__(cls)
        reader._connect, reader._errors, reader._dimension = connect, errors, dimension
        return reader

    def within(self, passages: Sequence[PassageRef]) -> list[np.ndarray]:
        return [vectors for _, vectors in self.spans_within(passages)]

    def spans_within(self, passages: Sequence[PassageRef]) -> list[tuple[np.ndarray, np.ndarray]]:
        empty = (np.zeros((0, 2), dtype=np.int64), np.zeros((0, self._dimension), np.float32))
        if not passages:
            return []
        try:
            conn = self._connect()
        except self._errors as exc:
            logger.warning("sentence vectors unavailable (%s); ranking without them", exc)
            return [empty] * len(passages)
        # One read per article, over the span its passages cover (they often overlap).
        by_article: dict[tuple[str, str], list[PassageRef]] = {}
        for ref in passages:
            by_article.setdefault((ref.article_id, ref.content_hash), []).append(ref)
        spans: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        try:
            conn.execute("BEGIN")  # one consistent read for all passages
            for key, refs in by_article.items():
                first, last = min(r.start for r in refs), max(r.end for r in refs)
                rows = conn.execute(_WITHIN, (*key, first, last)).fetchall()
                spans[key] = self._arrays(rows)
            conn.execute("COMMIT")
        except self._errors as exc:
            # E.g. the database was replaced by a full rebuild while this search ran on the
            # snapshot before it: the ranking falls back to the passage vectors.
            logger.warning("sentence vectors unavailable (%s); ranking without them", exc)
            return [empty] * len(passages)
        finally:
            conn.close()
        found = []
        for ref in passages:
            bounds, vectors = spans[(ref.article_id, ref.content_hash)]
            inside = (bounds[:, 0] >= ref.start) & (bounds[:, 1] <= ref.end)
            found.append((bounds[inside], vectors[inside]))
        return found

    def _arrays(self, rows: list[tuple[int, int, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2) spans and (n, dimension) vectors of the rows read (SQLite's bytes, or
        pgvector's arrays: both buffers of float32)."""
        bounds = np.array([(start, end) for start, end, _ in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(bytes(row[2]) for row in rows), dtype=np.float32)
        return bounds.reshape(len(rows), 2), vectors.reshape(len(rows), self._dimension)
