"""The index in a PostgreSQL database: each build of a collection is a schema
(`nd_<collection>_<id>`), `newsdesk_collections` names the live one, and a full rebuild
fills a new schema, then switches the row in one statement (a kill before it leaves the
previous build live), as the folder home does with its files and `current.json`.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from retrieval.errors import DatabaseMigrationError, IndexReadOnlyError, NewsdeskError
from retrieval.index.postgres import migrations
from retrieval.index.postgres.connection import (
    PgConnection,
    connect,
    database_error,
    safe_database_url,
)
from retrieval.index.postgres.schema import build_tables
from retrieval.index.postgres.store import CHANGES_CHANNEL, PostgresStore, write_lock_key
from retrieval.index.sentence_vectors import SentenceVectors, StoredSentenceVectors
from retrieval.index.store import Store

logger = logging.getLogger(__name__)

# One check per database per process: migrations are looked at once, at the first open.
_migrated: set[str] = set()
_migrated_lock = threading.Lock()


class PostgresHome:
    kind = "PostgreSQL"

    def __init__(
        self,
        url: str,
        collection: str,
        *,
        index_dir: Path,
        forced_read_only: bool = False,
        migrate: str = "auto",
    ) -> None:
        self.url = url
        self.collection = collection
        self.index_dir = index_dir
        self._forced = forced_read_only
        self._migrate = migrate
        self._builds = re.compile(rf"^nd_{re.escape(collection)}_[0-9a-f]{{12}}$")

    def describe(self) -> str:
        return f"{safe_database_url(self.url)} (collection {self.collection})"

    @contextmanager
    def _session(self, *, vectors: bool = True, reuse: bool = True) -> Iterator[PgConnection]:
        conn = connect(self.url, vectors=vectors, reuse=reuse)
        try:
            yield conn
        except psycopg.Error as exc:
            raise database_error(self.url, exc) from exc
        finally:
            conn.close()

    def prepare(self) -> None:
        prepare_database(self.url, migrate=self._migrate, read_only=self._forced)

    def is_read_only(self) -> bool:
        return self._forced

    def read_only_error(self) -> IndexReadOnlyError:
        return IndexReadOnlyError(
            f"the index {self.describe()} is opened read-only (NEWSDESK_INDEX_READ_ONLY is "
            "set): it can be searched, not changed; unset NEWSDESK_INDEX_READ_ONLY to change it"
        )

    def live(self) -> str | None:
        self.prepare()
        with self._session(vectors=False) as conn:
            row = conn.raw.execute(
                "SELECT c.live_schema FROM newsdesk_collections c "
                "JOIN pg_namespace n ON n.nspname = c.live_schema WHERE c.name = %s",
                (self.collection,),
            ).fetchone()
        return str(row[0]) if row else None

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """A session advisory lock on a connection of its own, held for the whole write (a
        rebuild commits in batches); the server frees it if this process dies."""
        key = write_lock_key(self.collection) + ":whole"
        with self._session(vectors=False, reuse=False) as conn:
            got = conn.raw.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
            ).fetchone()
            if not (got and got[0]):
                logger.info("waiting for another process's write to %s", self.describe())
                conn.raw.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            try:
                yield
            finally:
                conn.raw.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def create(self, manifest: dict[str, str]) -> str:
        self.prepare()
        schema = f"nd_{self.collection}_{uuid.uuid4().hex[:12]}"
        dimension = int(manifest["dimension"])
        with self._session() as conn, conn.raw.transaction():
            conn.raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            conn.raw.execute(
                sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(schema))
            )
            for statement in build_tables(dimension):
                conn.raw.execute(statement)
            rows = manifest | {
                "generation": "0",
                "last_build": "",
                "collection": self.collection,
            }
            conn.raw.cursor().executemany(
                "INSERT INTO manifest VALUES (%s, %s)", list(rows.items())
            )
        return schema

    def switch(self, ref: str) -> None:
        with self._session(vectors=False) as conn, conn.raw.transaction():
            conn.raw.execute(
                "INSERT INTO newsdesk_collections (name, live_schema) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET live_schema = EXCLUDED.live_schema, "
                "switched_at = now()",
                (self.collection, ref),
            )
            conn.raw.execute("SELECT pg_notify(%s, %s)", (CHANGES_CHANNEL, self.collection))

    def remove(self, ref: str) -> None:
        if not self._builds.match(ref):
            raise ValueError(f"{ref!r} is not a build of collection {self.collection}")
        with self._session(vectors=False) as conn:
            conn.raw.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(ref))
            )

    def remove_others(self, keep: str) -> None:
        live = self.live()
        with self._session(vectors=False) as conn:
            names = [
                str(r[0]) for r in conn.raw.execute("SELECT nspname FROM pg_namespace").fetchall()
            ]
        for name in names:
            if self._builds.match(name) and name not in (keep, live):
                logger.info("dropping the unused index build %s", name)
                self.remove(name)

    def store(self, ref: str, *, read_only: bool) -> Store:
        return PostgresStore(self.url, ref, self.collection, read_only=read_only)

    def sentence_vectors(self, store: Store, dimension: int) -> SentenceVectors:
        errors: tuple[type[Exception], ...] = (psycopg.Error, NewsdeskError)
        return StoredSentenceVectors.through(store.connect, errors, dimension)

    def size_bytes(self, ref: str) -> int:
        with self._session(vectors=False) as conn:
            row = conn.raw.execute(
                "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
                (ref,),
            ).fetchone()
        return int(row[0]) if row else 0


def prepare_database(url: str, *, migrate: str = "auto", read_only: bool = False) -> None:
    """Before a process first uses the database: its pending migrations applied (logged),
    or, when migrating at start is off (or the process only reads), the error naming
    `newsdesk index migrate`. Looked at once per database per process."""
    with _migrated_lock:
        if url in _migrated:
            return
        conn = connect(url, vectors=False)
        try:
            waiting = migrations.pending(conn)
            if waiting and (migrate == "never" or read_only):
                versions = ", ".join(str(m.version) for m in waiting)
                raise DatabaseMigrationError(
                    f"the database {safe_database_url(url)} needs migrations ({versions}) "
                    "before newsdesk can use it"
                )
            if waiting:
                migrations.migrate(conn)
        except psycopg.Error as exc:
            raise database_error(url, exc) from exc
        finally:
            conn.close()
        _migrated.add(url)


def migrate_database(url: str) -> tuple[list[migrations.Migration], int]:
    """`newsdesk index migrate`: what was applied now, and the version the database is at."""
    conn = connect(url, vectors=False)
    try:
        applied = migrations.migrate(conn)
        version = migrations.applied_version(conn)
    except psycopg.Error as exc:
        raise database_error(url, exc) from exc
    finally:
        conn.close()
    with _migrated_lock:
        _migrated.add(url)
    return applied, version
