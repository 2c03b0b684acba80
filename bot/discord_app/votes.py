"""Answers and 👍/👎 feedback in SQLite, so buttons keep working after a restart.

An answer row holds the question and what was shown, keyed by the id in the buttons'
custom_id. A feedback row copies the question and the hits shown, so it stays meaningful
after old answers are pruned. User ids are stored only as salted SHA-256 hashes (the salt is
random per install). Every method blocks: call them through asyncio.to_thread (the `a*`
wrappers do).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS install (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    guild_id INTEGER,
    question TEXT NOT NULL,
    hits_shown TEXT NOT NULL,
    shown INTEGER NOT NULL,
    user_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_created ON answers (created_at);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    guild_id INTEGER,
    question TEXT NOT NULL,
    hits_shown TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    created_at REAL NOT NULL,
    UNIQUE (answer_id, user_hash)
);
"""
FILE_NAME = "bot-feedback.sqlite3"


@dataclass(frozen=True)
class StoredAnswer:
    id: str
    guild_id: int | None
    question: str
    hits_shown: list[str]  # "article_id#chunk_id", in the order shown
    created_at: float

    @property
    def shown(self) -> int:
        return len(self.hits_shown)


@dataclass(frozen=True)
class FeedbackRow:
    answer_id: str
    question: str
    hits_shown: list[str]
    user_hash: str
    vote: int
    created_at: float


def new_answer_id() -> str:
    """Short, URL-safe, unguessable: it ends up in a custom_id (100 characters at most)."""
    return secrets.token_urlsafe(9)


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._salt: bytes | None = None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One short connection per call (calls come from worker threads); one transaction."""
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA busy_timeout = 10000")
            with db:
                yield db

    def open(self) -> FeedbackStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            with db:
                db.executescript(SCHEMA)
                self._load_salt(db)
        return self

    def _load_salt(self, db: Any) -> None:
        """The install's salt, made by the first process to open the store."""
        db.execute(
            "INSERT OR IGNORE INTO install (key, value) VALUES ('salt', ?)",
            (secrets.token_hex(16),),
        )
        (salt,) = db.execute("SELECT value FROM install WHERE key = 'salt'").fetchone()
        self._salt = bytes.fromhex(salt)

    def user_hash(self, user_id: int) -> str:
        if self._salt is None:
            raise RuntimeError("FeedbackStore.open() was not called")
        return hashlib.sha256(self._salt + str(user_id).encode()).hexdigest()

    # -- answers ---------------------------------------------------------------------------

    def save_answer(
        self, *, guild_id: int | None, question: str, hits_shown: Sequence[str], user_id: int
    ) -> str:
        answer_id = new_answer_id()
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers (id, guild_id, question, hits_shown, shown, user_hash,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    guild_id,
                    question,
                    json.dumps(list(hits_shown)),
                    len(hits_shown),
                    self.user_hash(user_id),
                    time.time(),
                ),
            )
        return answer_id

    def get_answer(self, answer_id: str) -> StoredAnswer | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, guild_id, question, hits_shown, created_at FROM answers WHERE id = ?",
                (answer_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredAnswer(row[0], row[1], row[2], json.loads(row[3]), row[4])

    def add_shown(self, answer_id: str, hits: Sequence[str]) -> None:
        """Record the next page of hits shown for an answer ("More results")."""
        with self._connect() as db:
            row = db.execute("SELECT hits_shown FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None:
                return
            shown = json.loads(row[0])
            shown.extend(h for h in hits if h not in shown)
            db.execute(
                "UPDATE answers SET hits_shown = ?, shown = ? WHERE id = ?",
                (json.dumps(shown), len(shown), answer_id),
            )

    def prune(self, older_than_seconds: float) -> int:
        """Forget old answers (their buttons then say they expired); feedback is kept."""
        with self._connect() as db:
            cursor = db.execute(
                "DELETE FROM answers WHERE created_at < ?", (time.time() - older_than_seconds,)
            )
            return cursor.rowcount

    # -- feedback --------------------------------------------------------------------------

    def record_vote(self, answer_id: str, user_id: int, vote: int) -> bool:
        """Store (or change) this user's vote on an answer; False if the answer is gone."""
        if vote not in (-1, 1):
            raise ValueError(f"vote must be -1 or 1, not {vote}")
        user = self.user_hash(user_id)
        with self._connect() as db:
            row = db.execute(
                "SELECT guild_id, question, hits_shown FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "INSERT INTO feedback (answer_id, guild_id, question, hits_shown, user_hash,"
                " vote, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user_hash) DO UPDATE SET vote = excluded.vote,"
                " hits_shown = excluded.hits_shown, created_at = excluded.created_at",
                (answer_id, row[0], row[1], row[2], user, vote, time.time()),
            )
        return True

    def feedback_rows(self) -> list[FeedbackRow]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT answer_id, question, hits_shown, user_hash, vote, created_at"
                " FROM feedback ORDER BY id"
            ).fetchall()
        return [FeedbackRow(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5]) for r in rows]

    # -- off the event loop ----------------------------------------------------------------

    async def asave_answer(
        self, *, guild_id: int | None, question: str, hits_shown: Sequence[str], user_id: int
    ) -> str:
        return await asyncio.to_thread(
            lambda: self.save_answer(
                guild_id=guild_id, question=question, hits_shown=hits_shown, user_id=user_id
            )
        )

    async def aget_answer(self, answer_id: str) -> StoredAnswer | None:
        return await asyncio.to_thread(self.get_answer, answer_id)

    async def aadd_shown(self, answer_id: str, hits: Sequence[str]) -> None:
        await asyncio.to_thread(self.add_shown, answer_id, hits)

    async def arecord_vote(self, answer_id: str, user_id: int, vote: int) -> bool:
        return await asyncio.to_thread(self.record_vote, answer_id, user_id, vote)
