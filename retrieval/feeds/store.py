"""Subscriptions and the entries seen, in SQLite: they survive restarts and a SIGKILL.

An entry is recorded only after its article is in the index, so a poll killed half-way is
picked up by the next one (which re-reads the feed: its ETag is saved at the end of a poll
that read everything), and the index's own duplicate check keeps a story from being indexed
twice if the kill fell between the two. One short connection per call: the bot's poller
threads and a `newsdesk feeds poll` from cron may use the same file at once.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import FeedError, FeedNotFoundError, write_error
from retrieval.feeds.parsing import FeedEntry

FILE_NAME = "feeds.sqlite3"
SCHEMA_VERSION = 1
MAX_TRIES = 3  # polls that may fail to make an entry an article before it is given up
SHARED = ""  # the collection key of the shared collection (else a Discord guild id)
# How long a claimed feed is left to the process polling it (longer than any poll takes:
# a poll's fetches time out, NEWSDESK_FETCH_TIMEOUT_SECONDS each).
CLAIM_LEASE = 15 * 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    title TEXT,
    kind TEXT,
    site_url TEXT,
    etag TEXT,
    last_modified TEXT,
    added_at REAL NOT NULL,
    added_by TEXT,
    last_poll_at REAL,
    last_success_at REAL,
    next_poll_at REAL NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    announce_channel INTEGER,
    UNIQUE (collection, url)
);
CREATE TABLE IF NOT EXISTS entries (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    url TEXT,
    content_hash TEXT NOT NULL,
    changed_at TEXT,
    article_id TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    final INTEGER NOT NULL DEFAULT 0,
    seen_at REAL NOT NULL,
    PRIMARY KEY (feed_id, key)
);
CREATE INDEX IF NOT EXISTS entries_by_url ON entries (feed_id, url);
CREATE INDEX IF NOT EXISTS entries_by_content ON entries (feed_id, content_hash);
"""


@dataclass(frozen=True)
class Feed:
    id: int
    collection: str
    url: str
    title: str | None
    kind: str | None
    site_url: str | None
    etag: str | None
    last_modified: str | None
    added_at: float
    last_poll_at: float | None
    last_success_at: float | None
    next_poll_at: float
    failures: int
    last_error: str | None
    disabled: bool
    announce_channel: int | None
    entries: int  # entries that became articles

    @property
    def name(self) -> str:
        return self.title or self.url

    @property
    def state(self) -> str:
        if self.disabled:
            return "disabled"
        if self.failures:
            return "failing"
        return "ok" if self.last_success_at is not None else "new"


@dataclass(frozen=True)
class SeenEntry:
    key: str
    url: str | None
    content_hash: str
    changed_at: str | None
    article_id: str | None
    tries: int
    final: bool  # given up on or refused: never tried again


@dataclass(frozen=True)
class PollResult:
    """What a poll changed in a feed's row (None: leave as it is)."""

    polled_at: float
    next_poll_at: float
    error: str | None = None  # a failed poll, or a poll that read only part of the feed
    failed: bool = False
    disable: bool = False
    title: str | None = None
    kind: str | None = None
    site_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    keep_validators: bool = True  # a poll that left entries for later must not save them
    new_url: str | None = None  # a permanent redirect


class FeedStore:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.OperationalError) as exc:
            raise FeedError(f"the feed list {self.path} cannot be opened ({exc})") from None
        with closing(conn):
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            try:
                yield conn
            except sqlite3.OperationalError as exc:
                if "disk" in str(exc).lower() or "full" in str(exc).lower():
                    raise write_error(OSError(28, str(exc)), str(self.path)) from exc
                raise

    # -- subscriptions ------------------------------------------------------------------------

    def add(
        self,
        url: str,
        *,
        collection: str = SHARED,
        title: str | None = None,
        kind: str | None = None,
        site_url: str | None = None,
        announce_channel: int | None = None,
        added_by: str | None = None,
        first_poll_at: float | None = None,
    ) -> Feed:
        now = self.clock()
        with self._db() as db:
            existing = db.execute(
                "SELECT id FROM feeds WHERE collection = ? AND url = ?", (collection, url)
            ).fetchone()
            if existing is not None:
                raise FeedError(f"already subscribed to {url} (feed {existing['id']})")
            cursor = db.execute(
                "INSERT INTO feeds (collection, url, title, kind, site_url, added_at, added_by,"
                " next_poll_at, announce_channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    collection,
                    url,
                    title,
                    kind,
                    site_url,
                    now,
                    added_by,
                    now if first_poll_at is None else first_poll_at,
                    announce_channel,
                ),
            )
            feed_id = int(cursor.lastrowid or 0)
        return self.get(feed_id, collection=collection)

    def remove(self, feed_id: int, *, collection: str = SHARED) -> Feed:
        feed = self.get(feed_id, collection=collection)
        with self._db() as db:
            db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return feed

    def get(self, feed_id: int, *, collection: str | None = SHARED) -> Feed:
        """The feed; FeedNotFoundError when there is none (or it is another collection's)."""
        with self._db() as db:
            row = db.execute(_SELECT + " WHERE f.id = ? GROUP BY f.id", (feed_id,)).fetchone()
        if row is None or (collection is not None and row["collection"] != collection):
            raise FeedNotFoundError(f"no feed with id {feed_id}")
        return _feed(row)

    def feeds(self, *, collection: str | None = SHARED) -> list[Feed]:
        """This collection's feeds (every collection's with None), oldest first."""
        with self._db() as db:
            if collection is None:
                rows = db.execute(_SELECT + " GROUP BY f.id ORDER BY f.id").fetchall()
            else:
                rows = db.execute(
                    _SELECT + " WHERE f.collection = ? GROUP BY f.id ORDER BY f.id",
                    (collection,),
                ).fetchall()
        return [_feed(row) for row in rows]

    def due(self, now: float | None = None) -> list[Feed]:
        """Enabled feeds of every collection whose next poll time has come, most overdue first."""
        moment = self.clock() if now is None else now
        return sorted(
            (f for f in self.feeds(collection=None) if not f.disabled and f.next_poll_at <= moment),
            key=lambda f: f.next_poll_at,
        )

    def claim_due(self, now: float | None = None, *, lease: float = CLAIM_LEASE) -> list[Feed]:
        """The due feeds this process is to poll: each is claimed by moving its next poll
        `lease` seconds ahead, only if no other process moved it first, so that processes
        sharing this feed list (bot shards, cron's `feeds poll --due`) poll each feed once.
        The poll then records the real next time; a poller that dies leaves the claim to
        run out, and the feed is polled by whoever comes after."""
        moment = self.clock() if now is None else now
        claimed = []
        with self._db() as db:
            for feed in self.due(moment):
                taken = db.execute(
                    "UPDATE feeds SET next_poll_at = ? WHERE id = ? AND next_poll_at = ? "
                    "AND disabled = 0",
                    (moment + lease, feed.id, feed.next_poll_at),
                ).rowcount
                if taken:
                    claimed.append(feed)
        return claimed

    def next_due_at(self) -> float | None:
        times = [f.next_poll_at for f in self.feeds(collection=None) if not f.disabled]
        return min(times) if times else None

    def set_enabled(self, feed_id: int, enabled: bool, *, collection: str = SHARED) -> Feed:
        self.get(feed_id, collection=collection)
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET disabled = ?, failures = CASE WHEN ? THEN 0 ELSE failures END,"
                " next_poll_at = CASE WHEN ? THEN ? ELSE next_poll_at END WHERE id = ?",
                (0 if enabled else 1, enabled, enabled, self.clock(), feed_id),
            )
        return self.get(feed_id, collection=collection)

    def record_poll(self, feed_id: int, result: PollResult) -> None:
        with self._db() as db:
            row = db.execute("SELECT failures FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if row is None:
                return  # removed while it was being polled
            failures = int(row["failures"]) + 1 if result.failed else 0
            db.execute(
                "UPDATE feeds SET last_poll_at = ?, next_poll_at = ?, failures = ?,"
                " last_error = ?, disabled = MAX(disabled, ?),"
                " last_success_at = CASE WHEN ? THEN last_success_at ELSE ? END,"
                " title = COALESCE(?, title), kind = COALESCE(?, kind),"
                " site_url = COALESCE(?, site_url) WHERE id = ?",
                (
                    result.polled_at,
                    result.next_poll_at,
                    failures,
                    result.error,
                    1 if result.disable else 0,
                    result.failed,
                    result.polled_at,
                    result.title,
                    result.kind,
                    result.site_url,
                    feed_id,
                ),
            )
            if not result.failed and result.keep_validators:
                db.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE id = ?",
                    (result.etag, result.last_modified, feed_id),
                )
            elif not result.keep_validators:
                db.execute(
                    "UPDATE feeds SET etag = NULL, last_modified = NULL WHERE id = ?", (feed_id,)
                )
            if result.new_url:
                clash = db.execute(
                    "SELECT 1 FROM feeds WHERE url = ? AND collection ="
                    " (SELECT collection FROM feeds WHERE id = ?)",
                    (result.new_url, feed_id),
                ).fetchone()
                if clash is None:
                    db.execute("UPDATE feeds SET url = ? WHERE id = ?", (result.new_url, feed_id))

    # -- entries ----------------------------------------------------------------------------

    def seen(self, feed_id: int, entries: Iterable[FeedEntry]) -> dict[str, SeenEntry]:
        """For each entry (by its key) the record it matches: the same key, else the same
        link, else the same text (a feed that renames its GUIDs on every poll)."""
        found: dict[str, SeenEntry] = {}
        with self._db() as db:
            for entry in entries:
                row = db.execute(
                    "SELECT * FROM entries WHERE feed_id = ? AND key = ?", (feed_id, entry.key)
                ).fetchone()
                if row is None and entry.url:
                    row = db.execute(
                        "SELECT * FROM entries WHERE feed_id = ? AND url = ? LIMIT 1",
                        (feed_id, entry.url),
                    ).fetchone()
                if row is None:
                    row = db.execute(
                        "SELECT * FROM entries WHERE feed_id = ? AND content_hash = ? LIMIT 1",
                        (feed_id, entry.content_hash),
                    ).fetchone()
                if row is not None:
                    found[entry.key] = SeenEntry(
                        key=row["key"],
                        url=row["url"],
                        content_hash=row["content_hash"],
                        changed_at=row["changed_at"],
                        article_id=row["article_id"],
                        tries=int(row["tries"]),
                        final=bool(row["final"]),
                    )
        return found

    def record_entries(self, feed_id: int, outcomes: Iterable[EntryOutcome]) -> None:
        """After the articles are indexed: one transaction for the poll's entries."""
        now = self.clock()
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            for outcome in outcomes:
                entry = outcome.entry
                db.execute(
                    "INSERT INTO entries (feed_id, key, url, content_hash, changed_at, article_id,"
                    " tries, error, final, seen_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
                    " ON CONFLICT (feed_id, key) DO UPDATE SET url = excluded.url,"
                    " content_hash = excluded.content_hash, changed_at = excluded.changed_at,"
                    " article_id = COALESCE(excluded.article_id, entries.article_id),"
                    " tries = CASE WHEN excluded.article_id IS NULL THEN entries.tries + 1"
                    " ELSE entries.tries END,"
                    " error = excluded.error,"
                    " final = MAX(excluded.final, CASE WHEN excluded.article_id IS NULL AND"
                    f" entries.tries + 1 >= {MAX_TRIES} THEN 1 ELSE 0 END),"
                    " seen_at = excluded.seen_at",
                    (
                        feed_id,
                        outcome.record_key,
                        entry.url,
                        entry.content_hash,
                        _iso(entry.last_changed),
                        outcome.article_id,
                        outcome.error,
                        1 if outcome.final else 0,
                        now,
                    ),
                )
            db.execute("COMMIT")


@dataclass(frozen=True)
class EntryOutcome:
    """What became of one entry in a poll."""

    entry: FeedEntry
    record_key: str  # the stored record's key when the entry matched one, else its own
    article_id: str | None  # the article it is (None: it could not be made one)
    error: str | None = None
    final: bool = False  # refused for good (a private address): never tried again
    status: str = "added"  # added, updated, unchanged, duplicate, failed


_SELECT = (
    "SELECT f.*, COUNT(e.article_id) AS entries FROM feeds f"
    " LEFT JOIN entries e ON e.feed_id = f.id AND e.article_id IS NOT NULL"
)


def _feed(row: sqlite3.Row) -> Feed:
    return Feed(
        id=int(row["id"]),
        collection=str(row["collection"]),
        url=str(row["url"]),
        title=row["title"],
        kind=row["kind"],
        site_url=row["site_url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        added_at=float(row["added_at"]),
        last_poll_at=row["last_poll_at"],
        last_success_at=row["last_success_at"],
        next_poll_at=float(row["next_poll_at"]),
        failures=int(row["failures"]),
        last_error=row["last_error"],
        disabled=bool(row["disabled"]),
        announce_channel=row["announce_channel"],
        entries=int(row["entries"] or 0),
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
