"""The SQLite store: articles, chunks, the embedding cache and the manifest, in WAL mode.

Every write is one transaction, so a kill at any moment leaves the last committed state.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from retrieval.dates import iso, timestamp
from retrieval.documents import Article, Chunk
from retrieval.duplicates import duplicate_keys, url_key
from retrieval.errors import (
    DiskFullError,
    IndexBusyError,
    IndexCorruptError,
    IndexMissingError,
    IndexReadOnlyError,
    NewsdeskError,
)

logger = logging.getLogger(__name__)
# 2: single sentences' vectors (the `sentences` table). 3: articles' normalized URLs (the
# `url_key` column), so an add finds a stored duplicate by the rule of retrieval.duplicates.
# 4: dates as dates (`published`/`updated` in ISO 8601 with the source's offset, `*_at` in
# epoch seconds for sorting and windows) and wire-copy groups (`group_id`, found through the
# MinHash signatures and LSH bands of `minhashes` and `minhash_bands`, index/groups.py). An
# index of an older schema is rebuilt from the articles folder (the manifest check names the
# change).
SCHEMA_VERSION = 4

_EMBED_HASH_INDEX = "CREATE INDEX IF NOT EXISTS chunks_embed_hash ON chunks(embed_hash)"
_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    url TEXT,
    published TEXT,
    published_at REAL,
    updated TEXT,
    updated_at REAL,
    source TEXT,
    author TEXT,
    path TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    indexed_at REAL NOT NULL,
    url_key TEXT,
    group_id TEXT
);
CREATE INDEX IF NOT EXISTS articles_dedup ON articles(dedup_key);
CREATE INDEX IF NOT EXISTS articles_url_key ON articles(url_key);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published_at);
CREATE INDEX IF NOT EXISTS articles_group ON articles(group_id);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    embed_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS embeddings (hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sentences (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    embed_hash TEXT NOT NULL,
    PRIMARY KEY (article_id, start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sentences_embed_hash ON sentences(embed_hash);
CREATE TABLE IF NOT EXISTS minhashes (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    signature BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minhash_bands (
    band INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    PRIMARY KEY (band, bucket, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS minhash_bands_article ON minhash_bands(article_id);
"""
    + f"{_EMBED_HASH_INDEX};\n"
)
# What _article_row reads, named: `SELECT *` would follow the table's column order.
_ARTICLE_COLUMNS = (
    "id, title, text, url, published, updated, source, author, path, extra, content_hash, "
    "dedup_key, indexed_at"
)


class SqlCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlConnection(Protocol):
    """What the index's SQL runs on: a SQLite connection, or a PostgreSQL one that reads the
    same SQL (retrieval/index/postgres/connection.py)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> SqlCursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> SqlCursor: ...


@dataclass(frozen=True)
class StoredChunk:
    id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    embed_hash: str


@dataclass(frozen=True)
class ArticleRow:
    article: Article
    content_hash: str
    dedup_key: str
    indexed_at: float


def database_uri(path: Path, *, read_only: bool = False, create: bool = False) -> str:
    """How to open the database: never created by accident (mode=rw: a database deleted
    under a running process is not made again as an empty file), read-only when asked, and
    immutable when its folder cannot be written (no lock, -shm or -wal file can be made there,
    and nobody can change it)."""
    uri = path.resolve().as_uri()
    if not read_only:
        return f"{uri}?mode={'rwc' if create else 'rw'}"
    if not os.access(path.parent, os.W_OK):
        return f"{uri}?mode=ro&immutable=1"
    return f"{uri}?mode=ro"


class Store:
    """One connection per thread is not needed: every call opens a short-lived connection.

    Short connections keep the store safe to use from `asyncio.to_thread` workers and from
    several processes (the bot and the CLI) at once; WAL lets readers run during a write.
    A `read_only` store writes nothing, not even on open (index/location.py says when).
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only

    @property
    def name(self) -> str:
        """Where the store is, for messages."""
        return str(self.path)

    def connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise IndexMissingError(
                f"the index database {self.path} is gone (was {self.path.parent} deleted?)"
            )
        conn = None
        try:
            uri = database_uri(self.path, read_only=self.read_only)
            conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
            if not self.read_only:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if _is_disk_full(exc) or _is_busy(exc):
                raise _database_error(self.path, exc) from exc
            raise IndexCorruptError(
                f"the index database {self.path} cannot be read ({exc})"
            ) from exc
        return conn

    # What another database changes (postgres/store.py): how a write starts, which errors
    # are the database's, the user's line for one, and undoing a failed write.
    database_errors: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)

    def begin_write(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")  # the write lock, taken now rather than at the write

    def database_error(self, exc: Exception) -> NewsdeskError:
        assert isinstance(exc, sqlite3.DatabaseError)
        return _database_error(self.path, exc)

    def rollback(self, conn: Any) -> None:
        _rollback(conn)

    @contextmanager
    def transaction(self) -> Iterator[SqlConnection]:
        if self.read_only:
            raise IndexReadOnlyError(
                f"the index {self.name} is opened read-only: it can be searched, not changed"
            )
        conn = self.connect()
        try:
            self.begin_write(conn)
            try:
                yield conn
            except BaseException:
                self.rollback(conn)
                raise
            conn.execute("COMMIT")
        except self.database_errors as exc:
            raise self.database_error(exc) from exc
        finally:
            conn.close()

    @contextmanager
    def reading(self) -> Iterator[SqlConnection]:
        conn = self.connect()
        try:
            yield conn
        except self.database_errors as exc:
            raise self.database_error(exc) from exc
        finally:
            conn.close()

    # -- schema and manifest -------------------------------------------------------------

    def create(self, manifest: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:  # the one place a database file is made (every other open is mode=rw or ro)
            sqlite3.connect(database_uri(self.path, create=True), uri=True).close()
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from exc
        with self.transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for key, value in manifest.items():
                conn.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?)", (key, value))
            conn.execute(
                "INSERT OR IGNORE INTO manifest VALUES ('generation', '0'), ('last_build', '')"
            )

    def manifest(self) -> dict[str, str]:
        with self.reading() as conn:
            try:
                rows = conn.execute("SELECT key, value FROM manifest").fetchall()
            except sqlite3.OperationalError as exc:
                raise IndexCorruptError(f"{self.path} is not a newsdesk index ({exc})") from exc
        return dict(rows)

    def generation(self) -> int:
        with self.reading() as conn:
            row = conn.execute("SELECT value FROM manifest WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def bump_generation(conn: SqlConnection) -> None:
        conn.execute(
            "UPDATE manifest SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
        )
        conn.execute(
            "INSERT OR REPLACE INTO manifest VALUES ('last_build', ?)", (f"{time.time():.3f}",)
        )

    # -- articles --------------------------------------------------------------------------

    def article_hashes(self, ids: Sequence[str] | None = None) -> dict[str, tuple[str, str | None]]:
        """id -> (content_hash, path) for every stored article, or for those of `ids` that are
        stored (looked up by key: the rows hold whole texts, so a scan reads every page)."""
        with self.reading() as conn:
            if ids is None:
                rows = conn.execute("SELECT id, content_hash, path FROM articles").fetchall()
            else:
                query = "SELECT id, content_hash, path FROM articles WHERE id IN ({marks})"
                rows = list(_rows_where_in(conn, query, ids))
        return {row[0]: (row[1], row[2]) for row in rows}

    def find_duplicate(self, article: Article) -> str | None:
        """The id of another stored article that is the same article (retrieval.duplicates)."""
        return self.find_duplicates([article]).get(article.id)

    def find_duplicates(self, articles: Sequence[Article]) -> dict[str, str]:
        """For each of `articles` that has one, the id of another stored article that is the
        same article; one connection for all (an add of a folder asks for thousands)."""
        found: dict[str, str] = {}
        with self.reading() as conn:
            for article in articles:
                keys = duplicate_keys(article)
                row = conn.execute(
                    "SELECT id FROM articles WHERE id != ? AND (dedup_key = ? OR url_key = ?) "
                    "LIMIT 1",
                    (article.id, keys.text, keys.url),
                ).fetchone()
                if row:
                    found[article.id] = str(row[0])
        return found

    def find_by_url(self, url: str | None) -> str | None:
        """The id of the stored article of this page (the normalized URL), if there is one."""
        key = url_key(url)
        if key is None:
            return None
        with self.reading() as conn:
            row = conn.execute(
                "SELECT id FROM articles WHERE url_key = ? LIMIT 1", (key,)
            ).fetchone()
        return row[0] if row else None

    def counts(self) -> tuple[int, int]:
        with self.reading() as conn:
            articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(articles), int(chunks)

    def sentence_count(self) -> int:
        """Sentences encoded on their own (0 for indexes from before they existed)."""
        with self.reading() as conn:
            try:
                return int(conn.execute("SELECT COUNT(*) FROM sentences").fetchone()[0])
            except sqlite3.OperationalError:  # no such table: an older schema
                return 0

    # -- embeddings ------------------------------------------------------------------------

    def cached_hashes(self, hashes: Iterable[str]) -> set[str]:
        wanted = list(set(hashes))
        found: set[str] = set()
        with self.reading() as conn:
            query = "SELECT hash FROM embeddings WHERE hash IN ({marks})"
            found.update(row[0] for row in _rows_where_in(conn, query, wanted))
        return found

    @staticmethod
    def put_embeddings(conn: SqlConnection, hashes: Sequence[str], vectors: np.ndarray) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO embeddings VALUES (?, ?)",
            (
                (h, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for h, v in zip(hashes, vectors, strict=True)
            ),
        )

    @staticmethod
    def drop_orphan_embeddings(conn: SqlConnection) -> None:
        """Every cached vector no chunk or sentence uses; reads the whole table (~0.3 s at
        50k chunks), so only folder syncs do it, which read every article anyway."""
        conn.execute(
            "DELETE FROM embeddings WHERE hash NOT IN "
            "(SELECT embed_hash FROM chunks UNION SELECT embed_hash FROM sentences)"
        )

    @staticmethod
    def embed_hashes_of(conn: SqlConnection, article_ids: Iterable[str]) -> set[str]:
        """The vectors `article_ids`' chunks and sentences use now (before they are replaced
        or removed)."""
        found: set[str] = set()
        for article_id in article_ids:
            for table in ("chunks", "sentences"):
                rows = conn.execute(
                    f"SELECT embed_hash FROM {table} WHERE article_id = ?", (article_id,)
                ).fetchall()
                found.update(r[0] for r in rows)
        return found

    @staticmethod
    def drop_unused_embeddings(conn: SqlConnection, hashes: Iterable[str]) -> None:
        """Of `hashes`, the vectors no chunk or sentence uses any more: what one add or
        remove can orphan, found through the embed_hash indexes in time independent of the
        collection."""
        # Indexes made before the embed_hash index existed get it on their first write.
        conn.execute(_EMBED_HASH_INDEX)
        conn.executemany(
            "DELETE FROM embeddings WHERE hash = ?1 "
            "AND NOT EXISTS (SELECT 1 FROM chunks WHERE embed_hash = ?1) "
            "AND NOT EXISTS (SELECT 1 FROM sentences WHERE embed_hash = ?1)",
            ((h,) for h in hashes),
        )

    # -- writes ----------------------------------------------------------------------------

    @staticmethod
    def put_article(
        conn: SqlConnection,
        article: Article,
        chunks: Sequence[Chunk],
        hashes: Sequence[str],
        sentences: Sequence[tuple[int, int, str]] = (),
    ) -> None:
        """The article with its chunks (and their vectors' hashes) and the (start, end, hash)
        of the sentences encoded on their own; replaces a stored one with the same id."""
        keys = duplicate_keys(article)
        conn.execute("DELETE FROM articles WHERE id = ?", (article.id,))
        conn.execute(
            f"INSERT INTO articles ({_ARTICLE_COLUMNS}, url_key, published_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                article.id,
                article.title,
                article.text,
                article.url,
                iso(article.published),
                iso(article.updated),
                article.source,
                article.author,
                article.path,
                json.dumps(article.extra, ensure_ascii=False, sort_keys=True),
                article.content_hash,
                keys.text,
                time.time(),
                keys.url,
                timestamp(article.published),
                timestamp(article.updated),
            ),
        )
        conn.executemany(
            "INSERT INTO chunks (article_id, ordinal, start, end, embed_hash) VALUES (?,?,?,?,?)",
            (
                (article.id, c.ordinal, c.start, c.end, h)
                for c, h in zip(chunks, hashes, strict=True)
            ),
        )
        conn.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?)",
            ((article.id, start, end, h) for start, end, h in sentences),
        )

    @staticmethod
    def delete_article(conn: SqlConnection, article_id: str) -> bool:
        return conn.execute("DELETE FROM articles WHERE id = ?", (article_id,)).rowcount > 0


def _rows_where_in(
    conn: SqlConnection, query: str, values: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    """Rows of `query` (a SELECT with one `IN ({marks})`) for all of `values`, 500 at a time:
    SQLite caps the number of parameters of one statement."""
    for begin in range(0, len(values), 500):
        part = values[begin : begin + 500]
        yield from conn.execute(query.format(marks=",".join("?" * len(part))), part)


def _article_row(row: tuple[object, ...]) -> ArticleRow:
    (aid, title, text, url, published, updated, source, author, path, extra, chash, dkey, at) = row
    article = Article(
        id=str(aid),
        title=str(title),
        text=str(text),
        url=_opt(url),
        published=_opt_date(published),
        updated=_opt_date(updated),
        source=_opt(source),
        author=_opt(author),
        path=_opt(path),
        extra=json.loads(str(extra)),
    )
    return ArticleRow(article, str(chash), str(dkey), float(at))  # type: ignore[arg-type]


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_date(value: object) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(str(value))


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it does on SQLITE_FULL), without
    hiding the error that caused it."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.warning("rollback failed (%s); closing the connection discards the write", exc)


def _is_disk_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _database_error(path: Path, exc: sqlite3.DatabaseError) -> NewsdeskError:
    if "readonly database" in str(exc):  # SQLITE_READONLY: the file or its folder
        return IndexReadOnlyError(
            f"the index {path} is read-only: it can be searched, not changed; make "
            f"{path.parent} writable or set NEWSDESK_INDEX_DIR to a writable folder"
        )
    if _is_disk_full(exc):
        return DiskFullError(
            f"the disk is full: could not write the index {path}; it keeps its last saved "
            "state. Free some space and try again"
        )
    if _is_busy(exc):
        return IndexBusyError(f"the index {path} is busy (another write is running); try again")
    return IndexCorruptError(f"the index database {path} is damaged ({exc})")


@dataclass(frozen=True)
class StoreContents:
    """Everything a search snapshot needs, read in one transaction so it is consistent."""

    generation: int
    articles: dict[str, Article]
    chunks: list[StoredChunk]
    vectors: np.ndarray
    groups: dict[str, str] = field(default_factory=dict)  # article id -> wire-copy group id


def read_contents(
    store: Store, dimension: int, article_ids: Sequence[str] | None = None
) -> StoreContents:
    """All of the store, or only the given articles, as of one generation."""
    with store.reading() as conn:
        conn.execute("BEGIN")  # a read transaction: one consistent WAL snapshot
        generation = int(
            conn.execute("SELECT value FROM manifest WHERE key='generation'").fetchone()[0]
        )
        if article_ids is None:
            article_rows = conn.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles").fetchall()
            chunk_rows = conn.execute(
                "SELECT id, article_id, ordinal, start, end, embed_hash FROM chunks ORDER BY id"
            ).fetchall()
        else:
            ids = list(article_ids)
            article_rows = list(
                _rows_where_in(
                    conn, f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({{marks}})", ids
                )
            )
            chunk_rows = list(
                _rows_where_in(
                    conn,
                    "SELECT id, article_id, ordinal, start, end, embed_hash FROM chunks "
                    "WHERE article_id IN ({marks})",
                    ids,
                )
            )
            chunk_rows.sort(key=lambda row: row[0])
        chunks = [StoredChunk(*row) for row in chunk_rows]
        vectors = np.zeros((len(chunks), dimension), dtype=np.float32)
        position = {c.embed_hash: [] for c in chunks}  # type: dict[str, list[int]]
        for i, c in enumerate(chunks):
            position[c.embed_hash].append(i)
        query = "SELECT hash, vector FROM embeddings WHERE hash IN ({marks})"
        for h, blob in _rows_where_in(conn, query, list(position)):
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.shape[0] != dimension:
                raise IndexCorruptError(
                    f"an embedding in {store.name} has {vector.shape[0]} dimensions, "
                    f"expected {dimension}"
                )
            vectors[position.pop(h)] = vector
        if position:
            raise IndexCorruptError(
                f"{len(position)} chunk embeddings are missing from {store.name}"
            )
        # Every group, whichever articles were read: one add can regroup articles it left alone.
        # Original first (the earliest published), the order a group's members are named in.
        groups = dict(
            conn.execute(
                "SELECT id, group_id FROM articles WHERE group_id IS NOT NULL "
                "ORDER BY published_at IS NULL, published_at, indexed_at, id"
            ).fetchall()
        )
        conn.execute("COMMIT")
    articles = {row.article.id: row.article for row in map(_article_row, article_rows)}
    return StoreContents(generation, articles, chunks, vectors, groups)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


ArticleOrder = Literal["published", "added"]
_ORDER_BY: dict[str, str] = {
    # Undated articles after the dated ones, newest added first among them.
    "published": "a.published_at IS NULL, a.published_at DESC, a.indexed_at DESC, a.id",
    "added": "a.indexed_at DESC, a.id",
}


def list_articles(
    store: Store, search: str | None, *, limit: int, offset: int, order: ArticleOrder = "published"
) -> tuple[list[tuple[Any, ...]], int]:
    """(id, title, url, published, updated, source, indexed_at, chunks, group, group size)
    rows, newest first by `order`, and the number matching `search` (a title or id
    substring). The group is the wire-copy group's id (its original's), None when alone."""
    where, args = "", []  # type: str, list[object]
    if search:
        where = "WHERE a.title LIKE ? ESCAPE '\\' OR a.id LIKE ? ESCAPE '\\'"
        args = [_like_pattern(search), _like_pattern(search)]
    with store.reading() as conn:
        conn.execute("BEGIN")
        total = conn.execute(f"SELECT COUNT(*) FROM articles a {where}", args).fetchone()[0]
        rows = conn.execute(
            "SELECT a.id, a.title, a.url, a.published, a.updated, a.source, a.indexed_at, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id), a.group_id, "
            "(SELECT COUNT(*) FROM articles g WHERE g.group_id = a.group_id) "
            f"FROM articles a {where} ORDER BY {_ORDER_BY[order]} LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        conn.execute("COMMIT")
    return [
        (aid, title, url, _opt_date(published), _opt_date(updated), source, at, chunks, group, size)
        for aid, title, url, published, updated, source, at, chunks, group, size in rows
    ], int(total)
