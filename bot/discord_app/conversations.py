"""What a conversation has asked so far, so a follow-up is searched in its context.

A conversation is a thread (its id), or, outside threads, the chain of replies that starts at
a bot answer (that answer's message id). Each keeps its last few answered questions and the
articles their answers cited; bot answers are mapped to their conversation so a reply to any
of them continues it. Everything is bounded (turns per conversation, conversations in all)
and expires. No user ids are stored. Methods block: call the `a*` wrappers from the loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from retrieval.search.followup import FollowUpContext

FILE_NAME = "bot-conversations.sqlite3"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (updated_at);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    question TEXT NOT NULL,
    cited TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE TABLE IF NOT EXISTS answer_messages (
    message_id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS answer_messages_conversation ON answer_messages (conversation_id);
CREATE TABLE IF NOT EXISTS answer_contexts (
    answer_id TEXT PRIMARY KEY,
    questions TEXT NOT NULL,
    cited TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answer_contexts_created ON answer_contexts (created_at);
"""


@dataclass(frozen=True)
class Limits:
    turns: int = 3  # earlier questions a follow-up is read with
    max_age_seconds: float = 86_400.0  # a conversation idle this long is forgotten
    conversations: int = 10_000  # the oldest beyond this are forgotten


class ConversationStore:
    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.limits = limits or Limits()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db

    def open(self) -> ConversationStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer newsdesk (schema {version});"
                    " upgrade newsdesk or delete the file (it only holds conversation context)"
                )
            with db:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return self

    # -- reading ---------------------------------------------------------------------------

    def context(self, conversation_id: int, now: float | None = None) -> FollowUpContext | None:
        """The last few questions (oldest first) and what their answers cited (newest
        first), or None for an unknown or expired conversation."""
        now = time.time() if now is None else now
        with self._connect() as db:
            rows = db.execute(
                "SELECT t.question, t.cited FROM turns t JOIN conversations c"
                " ON c.id = t.conversation_id WHERE c.id = ? AND c.updated_at >= ?"
                " ORDER BY t.seq DESC LIMIT ?",
                (conversation_id, now - self.limits.max_age_seconds, self.limits.turns),
            ).fetchall()
        if not rows:
            return None
        questions = tuple(question for question, _ in reversed(rows))
        cited: list[str] = []
        for _, articles in rows:  # newest turn first
            cited.extend(a for a in json.loads(articles) if a not in cited)
        return FollowUpContext(questions=questions, cited=tuple(cited))

    def conversation_of(self, message_id: int) -> int | None:
        """The conversation a bot answer belongs to (a reply to it continues that one)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT conversation_id FROM answer_messages WHERE message_id = ?", (message_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def answer_context(self, answer_id: str) -> FollowUpContext | None:
        """The context an answer was searched with, so "More results" pages the same search."""
        with self._connect() as db:
            row = db.execute(
                "SELECT questions, cited FROM answer_contexts WHERE answer_id = ?", (answer_id,)
            ).fetchone()
        if row is None:
            return None
        return FollowUpContext(questions=tuple(json.loads(row[0])), cited=tuple(json.loads(row[1])))

    # -- writing ---------------------------------------------------------------------------

    def record_turn(
        self,
        conversation_id: int,
        *,
        guild_id: int | None,
        question: str,
        cited: Sequence[str],
        answer_messages: Sequence[int] = (),
        now: float | None = None,
    ) -> None:
        """One answered question, in one transaction: the turn and which messages carried
        the answer."""
        now = time.time() if now is None else now
        with self._connect() as db:
            db.execute(
                "INSERT INTO conversations (id, guild_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
                (conversation_id, guild_id, now),
            )
            (last,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM turns WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            db.execute(
                "INSERT INTO turns (conversation_id, seq, question, cited, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (conversation_id, last + 1, question, json.dumps(list(cited)), now),
            )
            # Only the turns a follow-up can still use are kept.
            db.execute(
                "DELETE FROM turns WHERE conversation_id = ? AND seq <= ?",
                (conversation_id, last + 1 - self.limits.turns),
            )
            db.executemany(
                "INSERT OR REPLACE INTO answer_messages (message_id, conversation_id)"
                " VALUES (?, ?)",
                [(message_id, conversation_id) for message_id in answer_messages],
            )

    def save_answer_context(
        self, answer_id: str, context: FollowUpContext, now: float | None = None
    ) -> None:
        """Kept as long as the answer's buttons work (pruned with the answers)."""
        now = time.time() if now is None else now
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO answer_contexts (answer_id, questions, cited, created_at)"
                " VALUES (?, ?, ?, ?)",
                (
                    answer_id,
                    json.dumps(list(context.questions)),
                    json.dumps(list(context.cited)),
                    now,
                ),
            )

    def prune(self, answers_older_than: float, now: float | None = None) -> int:
        """Forget idle conversations, the oldest beyond the cap, and the contexts of answers
        whose buttons have expired; how many conversations went."""
        now = time.time() if now is None else now
        with self._connect() as db:
            db.execute(
                "DELETE FROM answer_contexts WHERE created_at < ?", (now - answers_older_than,)
            )
            expired = db.execute(
                "DELETE FROM conversations WHERE updated_at < ?",
                (now - self.limits.max_age_seconds,),
            ).rowcount
            over = db.execute(
                "DELETE FROM conversations WHERE id IN (SELECT id FROM conversations"
                " ORDER BY updated_at DESC LIMIT -1 OFFSET ?)",
                (self.limits.conversations,),
            ).rowcount
        return expired + over

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            return {
                table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("conversations", "turns", "answer_messages", "answer_contexts")
            }

    # -- off the event loop ----------------------------------------------------------------

    async def acontext(self, conversation_id: int) -> FollowUpContext | None:
        return await asyncio.to_thread(self.context, conversation_id)

    async def aconversation_of(self, message_id: int) -> int | None:
        return await asyncio.to_thread(self.conversation_of, message_id)

    async def aanswer_context(self, answer_id: str) -> FollowUpContext | None:
        return await asyncio.to_thread(self.answer_context, answer_id)

    async def arecord_turn(
        self,
        conversation_id: int,
        *,
        guild_id: int | None,
        question: str,
        cited: Sequence[str],
        answer_messages: Sequence[int] = (),
    ) -> None:
        await asyncio.to_thread(
            lambda: self.record_turn(
                conversation_id,
                guild_id=guild_id,
                question=question,
                cited=cited,
                answer_messages=answer_messages,
            )
        )

    async def asave_answer_context(self, answer_id: str, context: FollowUpContext) -> None:
        await asyncio.to_thread(self.save_answer_context, answer_id, context)
