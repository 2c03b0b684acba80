"""Connections to PostgreSQL (imported only when NEWSDESK_DATABASE_URL is set) that take the
SQLite store's SQL, so the index has one copy of its queries (store, groups, sentence
vectors, catalogue) whichever database holds it.

The store's SQL is plain SQL but for a few SQLite spellings, translated here one by one (and
refused when unknown, so a new spelling cannot slip through wrongly): `?` placeholders,
`INSERT OR IGNORE`, `INSERT OR REPLACE` of known tables, the column name `end` (reserved in
PostgreSQL), and `BEGIN`, which in SQLite's WAL mode starts a consistent read and here
asks for the same (REPEATABLE READ).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import re
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import psycopg
import psycopg.conninfo
import psycopg.pq
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.types import TypeInfo

from retrieval.errors import DatabaseUnavailableError, DiskFullError, NewsdeskError

# INSERT OR REPLACE needs the row's key in PostgreSQL (ON CONFLICT (key) DO UPDATE).
_REPLACE_KEYS = {"manifest": ("key", "value")}
_OR_REPLACE = re.compile(r"^\s*INSERT OR REPLACE INTO (\w+)\b")
_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO\b")
# Lower-case `end` as a name (SQL keywords are written in capitals in this code base).
_END_COLUMN = re.compile(r'(?<![\w"])end(?![\w"])')


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """`sql` as written for the SQLite store, in PostgreSQL's spelling."""
    if sql.strip() == "BEGIN":
        return "BEGIN ISOLATION LEVEL REPEATABLE READ"
    suffix = ""
    if match := _OR_REPLACE.match(sql):
        table = match.group(1)
        if table not in _REPLACE_KEYS:
            raise ValueError(f"INSERT OR REPLACE into {table!r} has no PostgreSQL translation")
        key, value = _REPLACE_KEYS[table]
        sql = sql.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1)
        suffix = f" ON CONFLICT ({key}) DO UPDATE SET {value} = EXCLUDED.{value}"
    elif _OR_IGNORE.match(sql):
        sql = sql.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1)
        suffix = " ON CONFLICT DO NOTHING"
    if re.search(r"\?\d", sql):
        raise ValueError("numbered placeholders (?1) have no PostgreSQL translation")
    sql = sql.replace("%", "%%").replace("?", "%s")
    return _END_COLUMN.sub('"end"', sql) + suffix


class PgConnection:
    """A psycopg connection in autocommit mode (transactions are the caller's BEGIN and
    COMMIT, as with the SQLite store) that reads the SQLite store's SQL. `close()` hands a
    healthy connection back for the next caller (see `_Idle`)."""

    def __init__(self, raw: psycopg.Connection[Any], url: str = "") -> None:
        self.raw = raw
        self._url = url

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        # Binary results: vectors arrive as float32 buffers, not text to parse.
        return self.raw.execute(translate(sql), tuple(params) or None, binary=True)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), list(rows))
        return cursor

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        if self._url:
            _idle.give_back(self._url, self.raw)
        else:
            self.raw.close()


def safe_database_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{parts.get('dbname') or ''}"


class _Idle:
    """Connections handed back, for reuse: opening one costs ~2 ms and several round trips,
    and a search or an add opens a dozen. A few per database, none idle for long (a server
    that restarted or failed over is met with new connections); no background threads, and
    a server that cannot be reached fails the caller at once (a pool would keep retrying).
    """

    MAX_PER_DATABASE = 8
    MAX_IDLE_SECONDS = 30.0
    # Idle longer than this, a connection is asked whether it still works before it is
    # handed out (one round trip), so a restarted server costs no caller an error.
    CHECK_AFTER_SECONDS = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[str, list[tuple[float, psycopg.Connection[Any]]]] = {}
        self._closes_at_exit = False

    def take(self, url: str) -> psycopg.Connection[Any] | None:
        while True:
            stale: list[psycopg.Connection[Any]] = []
            found = None
            now = time.monotonic()
            with self._lock:
                for key, idle in self._connections.items():
                    keep = [(at, c) for at, c in idle if now - at < self.MAX_IDLE_SECONDS]
                    stale += [c for at, c in idle if now - at >= self.MAX_IDLE_SECONDS]
                    self._connections[key] = keep
                if self._connections.get(url):
                    found = self._connections[url].pop()
            for conn in stale:
                conn.close()
            if found is None:
                return None
            since, conn = found
            if now - since < self.CHECK_AFTER_SECONDS or _answers(conn):
                return conn
            conn.close()  # the server went away meanwhile: try the next one, or a new one

    def give_back(self, url: str, conn: psycopg.Connection[Any]) -> None:
        healthy = (
            not conn.closed
            and not conn.broken
            and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        )
        with self._lock:
            if not self._closes_at_exit:  # kept ones are closed, not dropped, at exit
                atexit.register(self.close)
                self._closes_at_exit = True
            idle = self._connections.setdefault(url, [])
            if healthy and len(idle) < self.MAX_PER_DATABASE:
                idle.append((time.monotonic(), conn))
                return
            # A broken connection: the server restarted or failed over, so the idle ones
            # are most likely broken too.
            dropped = [c for _, c in idle] if conn.broken else []
            if dropped:
                idle.clear()
        conn.close()
        for other in dropped:
            other.close()

    def close(self, url: str | None = None) -> None:
        """Close the idle connections (of one database, or all)."""
        with self._lock:
            keys = [url] if url is not None else list(self._connections)
            closing = [c for key in keys for _, c in self._connections.pop(key, [])]
        for conn in closing:
            conn.close()


def _answers(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


_idle = _Idle()
close_idle_connections = _idle.close
# What each connection was set up with: its search path, and whether vectors are registered.
_search_paths: weakref.WeakKeyDictionary[psycopg.Connection[Any], str] = weakref.WeakKeyDictionary()
_with_vectors: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


def connect(
    url: str, *, schema: str | None = None, vectors: bool = True, reuse: bool = True
) -> PgConnection:
    """A connection (a reused one when there is one, unless not `reuse`: a connection that
    holds a session lock must never be handed on); `schema` first on its search path (a
    collection's live index), and pgvector's types registered when `vectors` (the extension
    exists once migrated)."""
    raw = _idle.take(url) if reuse else None
    try:
        if raw is None:
            raw = psycopg.connect(
                url, autocommit=True, connect_timeout=10, application_name="newsdesk"
            )
        path = f"{schema}, public" if schema else "public"
        if _search_paths.get(raw) != path:
            raw.execute("SELECT set_config('search_path', %s, false)", (path,))
            _search_paths[raw] = path
    except psycopg.OperationalError as exc:
        if raw is not None:
            raw.close()
        raise unavailable(url, exc) from exc
    if vectors and raw not in _with_vectors:
        try:
            _register_vectors(raw, url)
        except psycopg.Error as exc:
            raw.close()
            raise DatabaseUnavailableError(
                f"the database at {safe_database_url(url)} has no pgvector extension ({exc}); "
                "run `newsdesk index migrate` as a user allowed to CREATE EXTENSION vector"
            ) from exc
        _with_vectors.add(raw)
    return PgConnection(raw, url if reuse else "")


# The vector type's oid per database, looked up once: connections are short-lived.
_vector_types: dict[str, TypeInfo] = {}


def _register_vectors(raw: psycopg.Connection[Any], url: str) -> None:
    """ndarrays are written as pgvector's vectors (its dumpers) and vectors are read back as
    float32 ndarrays (the buffers the store's code takes), from the binary format."""
    from pgvector.psycopg.vector import register_vector_info

    info = _vector_types.get(url)
    if info is None:
        info = TypeInfo.fetch(raw, "vector")
        if info is None:
            raise psycopg.ProgrammingError("vector type not found in the database")
        _vector_types[url] = info
    register_vector_info(raw, info)
    raw.adapters.register_loader(info.oid, _VectorArrayLoader)


class _VectorArrayLoader(Loader):
    format = psycopg.pq.Format.BINARY

    def load(self, data: Buffer) -> np.ndarray:
        # pgvector's binary form: uint16 dimension, uint16 unused, big-endian float32s.
        dimension = int.from_bytes(bytes(data[:2]), "big")
        return np.frombuffer(data, dtype=">f4", count=dimension, offset=4).astype(np.float32)


def unavailable(url: str, exc: Exception) -> DatabaseUnavailableError:
    reason = " ".join(str(exc).split())[:300]
    return DatabaseUnavailableError(
        f"cannot reach the database at {safe_database_url(url)} ({reason}); is PostgreSQL "
        "running, and is NEWSDESK_DATABASE_URL right?"
    )


def database_error(url: str, exc: Exception) -> NewsdeskError:
    """The user's line for a failed query (the traceback is the caller's to log, if any)."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate == "53100":  # disk_full
        return DiskFullError(
            f"the database server's disk is full ({safe_database_url(url)}); the index keeps "
            "its last committed state. Free some space and try again"
        )
    if isinstance(exc, psycopg.OperationalError) or sqlstate.startswith(("08", "57")):
        return unavailable(url, exc)  # connection lost, server shutting down, admin cancel
    return DatabaseUnavailableError(
        f"the database at {safe_database_url(url)} refused a query ({exc.__class__.__name__}: "
        f"{' '.join(str(exc).split())[:300]})"
    )


@contextlib.contextmanager
def transaction(url: str, schema: str) -> Iterator[PgConnection]:
    """One transaction on a connection whose search path starts at `schema`; a failed one
    is rolled back, and the database's errors become the user's one line."""
    conn = connect(url, schema=schema, vectors=False)
    try:
        with conn.raw.transaction():
            yield conn
    except psycopg.Error as exc:
        raise database_error(url, exc) from exc
    finally:
        conn.close()
