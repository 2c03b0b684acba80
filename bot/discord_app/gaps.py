"""Questions the desk could not answer well: "no good match" and 👎, for a gaps report.

Stored only where recording is on (off by default: DISCORD_RECORD_GAPS, or `/gaps record:`
per server), never for DMs, never with user ids: a row is the server, the question, why it
is a gap and when. Every method blocks: call them through asyncio.to_thread (the `a*`
wrappers do). Grouping similar wordings is pure (`group_gaps`) so the bot and CLI share it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER NOT NULL,
    question TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('no-match', 'thumbs-down')),
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gaps_created ON gaps (created_at);
CREATE TABLE IF NOT EXISTS guild_recording (
    guild_id INTEGER PRIMARY KEY,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1))
);
"""
FILE_NAME = "bot-gaps.sqlite3"
SIMILAR = 0.4  # Jaccard of token sets at which two wordings count as one question
OTHER_WORDINGS = 3

Reason = Literal["no-match", "thumbs-down"]
REASONS: tuple[Reason, ...] = ("no-match", "thumbs-down")


@dataclass(frozen=True)
class GapRow:
    guild_id: int
    question: str
    reason: Reason
    created_at: float


class GapStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One short connection per call (calls come from worker threads); one transaction."""
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA busy_timeout = 10000")
            with db:
                yield db

    def open(self) -> GapStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema {version}, newer than this bot's {SCHEMA_VERSION}"
                )
            with db:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return self

    def record(
        self, guild_id: int, question: str, reason: Reason, now: float | None = None
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, not {reason!r}")
        with self._connect() as db:
            db.execute(
                "INSERT INTO gaps (guild_id, question, reason, created_at) VALUES (?, ?, ?, ?)",
                (guild_id, question, reason, time.time() if now is None else now),
            )

    def set_recording(self, guild_id: int, enabled: bool) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO guild_recording (guild_id, enabled) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET enabled = excluded.enabled",
                (guild_id, int(enabled)),
            )

    def recording(self, guild_id: int, default: bool) -> bool:
        """The server's own choice if an admin made one, else `default` (DISCORD_RECORD_GAPS)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT enabled FROM guild_recording WHERE guild_id = ?", (guild_id,)
            ).fetchone()
        return default if row is None else bool(row[0])

    def rows(self, guild_id: int | None = None, since: float | None = None) -> list[GapRow]:
        """Oldest first; every server's when `guild_id` is None."""
        query = "SELECT guild_id, question, reason, created_at FROM gaps WHERE 1 = 1"
        params: list[object] = []
        if guild_id is not None:
            query += " AND guild_id = ?"
            params.append(guild_id)
        if since is not None:
            query += " AND created_at >= ?"
            params.append(since)
        with self._connect() as db:
            found = db.execute(query + " ORDER BY created_at, id", params).fetchall()
        return [GapRow(r[0], r[1], r[2], r[3]) for r in found]

    def prune(self, older_than_seconds: float, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - older_than_seconds
        with self._connect() as db:
            return db.execute("DELETE FROM gaps WHERE created_at < ?", (cutoff,)).rowcount

    # -- off the event loop ----------------------------------------------------------------

    async def arecord(self, guild_id: int, question: str, reason: Reason) -> None:
        await asyncio.to_thread(self.record, guild_id, question, reason)

    async def aset_recording(self, guild_id: int, enabled: bool) -> None:
        await asyncio.to_thread(self.set_recording, guild_id, enabled)

    async def arecording(self, guild_id: int, default: bool) -> bool:
        return await asyncio.to_thread(self.recording, guild_id, default)

    async def arows(self, guild_id: int | None = None, since: float | None = None) -> list[GapRow]:
        return await asyncio.to_thread(self.rows, guild_id, since)


@dataclass(frozen=True)
class GapGroup:
    question: str  # the most frequent wording (the most recent of equally frequent ones)
    count: int
    no_match: int
    thumbs_down: int
    first: float
    last: float
    others: list[str] = field(default_factory=list)  # up to 3 other wordings


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def group_gaps(rows: Sequence[GapRow], tokens: Callable[[str], list[str]]) -> list[GapGroup]:
    """Greedy, one pass, oldest first: a row joins the first group whose first member's
    tokens it shares at least SIMILAR (Jaccard) of, else starts a group. Most asked first."""
    groups: list[tuple[frozenset[str], list[GapRow]]] = []
    for row in sorted(rows, key=lambda r: r.created_at):
        words = frozenset(tokens(row.question))
        for seed, members in groups:
            if jaccard(seed, words) >= SIMILAR:
                members.append(row)
                break
        else:
            groups.append((words, [row]))
    return sorted(
        (_summarize(members) for _, members in groups),
        key=lambda g: (-g.count, -g.last, g.question),
    )


def _summarize(members: list[GapRow]) -> GapGroup:
    wordings = Counter(m.question.strip() for m in members)
    latest = {m.question.strip(): m.created_at for m in members}  # members are oldest first
    ranked = sorted(wordings, key=lambda w: (-wordings[w], -latest[w], w))
    return GapGroup(
        question=ranked[0],
        count=len(members),
        no_match=sum(m.reason == "no-match" for m in members),
        thumbs_down=sum(m.reason == "thumbs-down" for m in members),
        first=members[0].created_at,
        last=members[-1].created_at,
        others=ranked[1 : 1 + OTHER_WORDINGS],
    )


def question_tokens() -> Callable[[str], list[str]]:
    """The index's own analyzer (stopwords out, stems), so "prices rose" ≈ "price rising"."""
    from retrieval.text.analyzer import Analyzer

    analyzer = Analyzer()
    return lambda text: analyzer.tokens([text])[0]


def day(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).date().isoformat()


def group_line(group: GapGroup) -> str:
    """`3× “question” — 2 no match, 1 👎 — first 2026-11-01, last 2026-12-02`."""
    parts = []
    if group.no_match:
        parts.append(f"{group.no_match} no match")
    if group.thumbs_down:
        parts.append(f"{group.thumbs_down} 👎")
    when = f"first {day(group.first)}, last {day(group.last)}"
    return f"{group.count}× “{group.question}” — {', '.join(parts)} — {when}"


def report_text(groups: Sequence[GapGroup], *, recording: bool, limit: int = 15) -> str:
    """The /gaps reply (fit to 2000 characters by the caller)."""
    state = (
        "Recording is on here."
        if recording
        else ("Recording is off here: an admin can turn it on with /gaps record:True.")
    )
    if not groups:
        return f"No gaps recorded. {state}"
    lines = [f"Questions without a good answer ({len(groups)} groups, most asked first):"]
    lines += [f"- {group_line(g)}" for g in groups[:limit]]
    if len(groups) > limit:
        lines.append(f"…and {len(groups) - limit} more (see `newsdesk gaps`).")
    lines.append(state)
    return "\n".join(lines)
