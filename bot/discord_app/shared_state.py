"""The bot's state that its processes share when the index is in PostgreSQL
(NEWSDESK_DATABASE_URL): the answers behind "More results" and the vote buttons, the votes,
and the question cooldown, in the database's `newsdesk_bot` schema (migration 2). So a
vote or a cooldown is the same whichever process (shard, host) a member reaches, also after
the shards are spread differently. The SQL is the SQLite stores' own (read through
PgConnection); only the connections differ. Clocks: every process's must be right (NTP),
as the cooldown compares times written by several hosts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.discord_app.cooldown import Cooldown
from bot.discord_app.votes import FeedbackStore
from retrieval.index.postgres.connection import safe_database_url, transaction
from retrieval.index.postgres.home import prepare_database
from retrieval.index.postgres.migrations import BOT_SCHEMA
from retrieval.settings import RetrievalSettings

# Expired cooldowns are deleted once per this many questions (they decide nothing).
PRUNE_EVERY = 1000


def _url(settings: RetrievalSettings) -> str:
    assert settings.database_url is not None
    return settings.database_url.get_secret_value()


def _prepare(settings: RetrievalSettings) -> None:
    prepare_database(
        _url(settings), migrate=settings.database_migrate, read_only=settings.index_read_only
    )


class DatabaseFeedbackStore(FeedbackStore):
    def __init__(self, settings: RetrievalSettings) -> None:
        super().__init__(Path(safe_database_url(_url(settings))))  # a name for messages
        self._settings = settings
        self.url = _url(settings)

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        with transaction(self.url, BOT_SCHEMA) as conn:
            yield conn

    def open(self) -> FeedbackStore:
        _prepare(self._settings)
        with self._connect() as db:  # one salt for every process: one hash per member
            self._load_salt(db)
        return self


class DatabaseCooldown(Cooldown):
    """The cooldown across processes: one question per `seconds` per member, wherever."""

    def __init__(self, seconds: float, settings: RetrievalSettings) -> None:
        super().__init__(seconds)
        self._settings = settings
        self.url = _url(settings)
        self._asked = 0

    def retry_after(self, key: Hashable, now: float) -> float:
        if self.seconds <= 0:
            return 0.0
        _prepare(self._settings)
        with transaction(self.url, BOT_SCHEMA) as db:
            # Counted only if the last question is old enough, atomically: two processes
            # taking the same member's questions at once let one through.
            counted = db.execute(
                "INSERT INTO cooldowns (key, asked_at) VALUES (?, ?) ON CONFLICT (key) DO "
                "UPDATE SET asked_at = EXCLUDED.asked_at WHERE cooldowns.asked_at <= ? "
                "RETURNING asked_at",
                (key, now, now - self.seconds),
            ).fetchone()
            if counted is None:
                row = db.execute("SELECT asked_at FROM cooldowns WHERE key = ?", (key,)).fetchone()
                last = float(row[0]) if row else now
                return max(0.0, self.seconds - (now - last))
            self._asked += 1
            if self._asked % PRUNE_EVERY == 0:
                db.execute("DELETE FROM cooldowns WHERE asked_at < ?", (now - self.seconds,))
        return 0.0

    async def aretry_after(self, key: Hashable, now: float) -> float:
        return await asyncio.to_thread(self.retry_after, key, now)
