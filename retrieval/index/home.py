"""Where an index's builds live: SQLite files in the index folder (the default), or schemas in
a PostgreSQL database (NEWSDESK_DATABASE_URL). The engine asks its home for the live build,
makes a new one for a full rebuild, switches to it, and takes the write lock through it, so
that everything above the store is the same for both.

A build is named by a `ref`: a database file's path, or a schema's name.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from retrieval.embedding.onnx_cache import model_cache_dir
from retrieval.errors import IndexReadOnlyError
from retrieval.index import location
from retrieval.index.sentence_vectors import SentenceVectors, StoredSentenceVectors
from retrieval.index.store import Store
from retrieval.settings import RetrievalSettings


class IndexHome(Protocol):
    index_dir: Path  # the folder of this machine's own files (search caches, models)
    kind: str  # the database, by name ("SQLite", "PostgreSQL")

    def describe(self) -> str:
        """Where the index is, for messages ("no index in …")."""
        ...

    def prepare(self) -> None:
        """Before the first read: what the home needs (a database's migrations)."""
        ...

    def is_read_only(self) -> bool: ...

    def read_only_error(self) -> IndexReadOnlyError: ...

    def live(self) -> str | None:
        """The live build, None when there is none (or it was deleted)."""
        ...

    def write_lock(self) -> AbstractContextManager[None]:
        """Held by every change, across processes."""
        ...

    def create(self, manifest: dict[str, str]) -> str:
        """A new, empty build with `manifest`, not yet live."""
        ...

    def switch(self, ref: str) -> None:
        """Make `ref` the live build, atomically."""
        ...

    def remove(self, ref: str) -> None: ...

    def remove_others(self, keep: str) -> None:
        """Builds other than `keep` (the previous one, or one a killed rebuild left)."""
        ...

    def store(self, ref: str, *, read_only: bool) -> Store: ...

    def sentence_vectors(self, store: Store, dimension: int) -> SentenceVectors: ...

    def size_bytes(self, ref: str) -> int: ...


class FolderHome:
    """SQLite databases in the index folder; `current.json` names the live one."""

    kind = "SQLite"

    def __init__(self, index_dir: Path, *, forced_read_only: bool = False) -> None:
        self.index_dir = index_dir
        self._forced = forced_read_only

    def describe(self) -> str:
        return str(self.index_dir)

    def prepare(self) -> None:
        return None

    def is_read_only(self) -> bool:
        return location.is_read_only(self.index_dir, forced=self._forced)

    def read_only_error(self) -> IndexReadOnlyError:
        return location.read_only_error(self.index_dir, forced=self._forced)

    def live(self) -> str | None:
        database = location.current_database(self.index_dir)
        return str(database) if database is not None and database.exists() else None

    def write_lock(self) -> AbstractContextManager[None]:
        return location.write_lock(self.index_dir)

    def create(self, manifest: dict[str, str]) -> str:
        database = location.next_database_name(self.index_dir)
        location.remove_database(database)
        try:
            Store(database).create(manifest)
        except BaseException:
            location.remove_database(database)  # e.g. the disk is full: leave no stub behind
            raise
        return str(database)

    def switch(self, ref: str) -> None:
        location.switch_database(self.index_dir, Path(ref))

    def remove(self, ref: str) -> None:
        location.remove_database(Path(ref))

    def remove_others(self, keep: str) -> None:
        location.remove_other_databases(self.index_dir, keep=Path(keep))

    def store(self, ref: str, *, read_only: bool) -> Store:
        return Store(Path(ref), read_only=read_only)

    def sentence_vectors(self, store: Store, dimension: int) -> SentenceVectors:
        return StoredSentenceVectors(store.path, dimension, read_only=store.read_only)

    def size_bytes(self, ref: str) -> int:
        models = model_cache_dir(self.index_dir)
        return sum(
            p.stat().st_size
            for p in self.index_dir.rglob("*")
            if p.is_file() and not p.is_relative_to(models)  # exported models are not the index
        )


def home_for(settings: RetrievalSettings) -> IndexHome:
    """The home the settings name (the composition root and the engine call this)."""
    if settings.database_url is None:
        return FolderHome(settings.index_dir, forced_read_only=settings.index_read_only)
    from retrieval.index.postgres.home import PostgresHome  # psycopg only with a database

    return PostgresHome(
        settings.database_url.get_secret_value(),
        settings.database_collection,
        index_dir=settings.index_dir,
        forced_read_only=settings.index_read_only,
        migrate=settings.database_migrate,
    )
