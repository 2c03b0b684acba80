"""The store of one index build in PostgreSQL: the SQLite store's queries (inherited, read
through PgConnection) on the tables of schema.py, with PostgreSQL's transactions.

A write is one transaction that first takes the collection's advisory lock, the counterpart
of SQLite's BEGIN IMMEDIATE: writers from any process queue, readers never wait (MVCC), and
a killed writer's transaction is rolled back by the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from retrieval.errors import IndexCorruptError, NewsdeskError
from retrieval.index.postgres.connection import (
    PgConnection,
    connect,
    database_error,
    safe_database_url,
)
from retrieval.index.store import SqlConnection, Store

logger = logging.getLogger(__name__)

# Commits of a collection are announced on this channel (the payload is the collection), so
# processes that LISTEN can reload at once instead of at their next poll.
CHANGES_CHANNEL = "newsdesk_changes"


def write_lock_key(collection: str) -> str:
    """The text both the write transaction and the write lock hash to one advisory key."""
    return f"newsdesk:write:{collection}"


class PostgresStore(Store):
    def __init__(self, url: str, schema: str, collection: str, *, read_only: bool = False) -> None:
        # `path` names the store in messages; nothing is read from it.
        super().__init__(Path(f"{safe_database_url(url)}#{schema}"), read_only=read_only)
        self.url = url
        self.schema = schema
        self.collection = collection

    @property
    def name(self) -> str:
        return f"{safe_database_url(self.url)} (collection {self.collection}, {self.schema})"

    def connect(self) -> PgConnection:  # type: ignore[override]
        return connect(self.url, schema=self.schema)

    database_errors = (psycopg.Error,)

    def begin_write(self, conn: Any) -> None:
        # Commits of a collection are serialized (chunk ids then only grow); readers go on.
        conn.raw.execute("BEGIN")
        conn.raw.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (write_lock_key(self.collection),),
        )

    def database_error(self, exc: Exception) -> NewsdeskError:
        if isinstance(exc, psycopg.errors.UndefinedTable):
            return IndexCorruptError(f"{self.name} is not a newsdesk index ({exc})")
        return database_error(self.url, exc)

    def rollback(self, conn: Any) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.raw.execute("ROLLBACK")
        except psycopg.Error as exc:
            logger.warning("rollback failed (%s); closing the connection discards the write", exc)

    def create(self, manifest: dict[str, str]) -> None:
        raise NotImplementedError("index builds are made by PostgresHome.create")

    @staticmethod
    def bump_generation(conn: SqlConnection) -> None:
        conn.execute(
            "UPDATE manifest SET value = (CAST(value AS BIGINT) + 1)::text WHERE key = 'generation'"
        )
        conn.execute(
            "INSERT OR REPLACE INTO manifest VALUES ('last_build', ?)", (f"{time.time():.3f}",)
        )
        collection = conn.execute("SELECT value FROM manifest WHERE key='collection'").fetchone()
        # Delivered at commit, never for a rolled-back write.
        conn.execute(
            "SELECT pg_notify(?, ?)", (CHANGES_CHANNEL, collection[0] if collection else "")
        )

    @staticmethod
    def put_embeddings(conn: SqlConnection, hashes: Sequence[str], vectors: np.ndarray) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO embeddings VALUES (?, ?)",
            (
                (h, np.ascontiguousarray(v, dtype=np.float32))
                for h, v in zip(hashes, vectors, strict=True)
            ),
        )

    @staticmethod
    def drop_unused_embeddings(conn: SqlConnection, hashes: Iterable[str]) -> None:
        conn.execute(
            "DELETE FROM embeddings e WHERE e.hash = ANY(?) "
            "AND NOT EXISTS (SELECT 1 FROM chunks WHERE embed_hash = e.hash) "
            "AND NOT EXISTS (SELECT 1 FROM sentences WHERE embed_hash = e.hash)",
            (list(hashes),),
        )
