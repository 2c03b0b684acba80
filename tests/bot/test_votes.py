"""The SQLite store of answers and votes: hashed users, upserted votes, pruning, WAL."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.discord_app.shared_state import DatabaseFeedbackStore
from bot.discord_app.votes import FeedbackStore
from retrieval.settings import RetrievalSettings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FeedbackStore:
    """The SQLite store, and the one every process shares in PostgreSQL (shared_state.py)."""
    if request.param == "sqlite":
        return FeedbackStore(tmp_path / "index" / "bot.sqlite3").open()
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the SQLite file")
    url = request.getfixturevalue("database_url")
    settings = RetrievalSettings(_env_file=None, database_url=SecretStr(url))  # type: ignore[call-arg]
    return DatabaseFeedbackStore(settings).open()


def test_answer_round_trip_and_more(store: FeedbackStore) -> None:
    answer_id = store.save_answer(guild_id=5, question="Q?", hits_shown=["a#1", "b#2"], user_id=7)
    assert 8 <= len(answer_id) <= 40
    stored = store.get_answer(answer_id)
    assert stored is not None
    assert (stored.guild_id, stored.question, stored.hits_shown) == (5, "Q?", ["a#1", "b#2"])
    store.add_shown(answer_id, ["b#2", "c#3"])
    stored = store.get_answer(answer_id)
    assert stored is not None and stored.hits_shown == ["a#1", "b#2", "c#3"] and stored.shown == 3
    assert store.get_answer("missing") is None


def test_votes_are_hashed_and_replace_each_other(store: FeedbackStore) -> None:
    answer_id = store.save_answer(guild_id=None, question="Q?", hits_shown=["a#1"], user_id=7)
    assert store.record_vote(answer_id, 42, 1)
    assert store.record_vote(answer_id, 42, -1)
    assert store.record_vote(answer_id, 43, 1)
    rows = store.feedback_rows()
    assert [r.vote for r in rows] == [-1, 1]
    assert rows[0].question == "Q?" and rows[0].hits_shown == ["a#1"]
    assert rows[0].user_hash == store.user_hash(42) != store.user_hash(43)
    assert rows[0].user_hash != hashlib.sha256(b"42").hexdigest()  # salted
    assert len(rows[0].user_hash) == 64
    assert not store.record_vote("missing", 42, 1)
    with pytest.raises(ValueError, match="vote must be"):
        store.record_vote(answer_id, 42, 0)


@pytest.mark.sqlite_only
def test_salt_is_per_install_and_stable(tmp_path: Path, store: FeedbackStore) -> None:
    again = FeedbackStore(store.path).open()
    other = FeedbackStore(tmp_path / "other.sqlite3").open()
    assert again.user_hash(1) == store.user_hash(1) != other.user_hash(1)


@pytest.mark.sqlite_only
def test_prune_forgets_old_answers_but_keeps_feedback(store: FeedbackStore) -> None:
    old = store.save_answer(guild_id=None, question="old", hits_shown=[], user_id=1)
    store.record_vote(old, 1, 1)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE answers SET created_at = ?", (time.time() - 100 * 86_400,))
    new = store.save_answer(guild_id=None, question="new", hits_shown=[], user_id=1)
    assert store.prune(90 * 86_400) == 1
    assert store.get_answer(old) is None and store.get_answer(new) is not None
    assert [r.question for r in store.feedback_rows()] == ["old"]


@pytest.mark.sqlite_only
def test_wal_mode(store: FeedbackStore) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unopened_store_refuses_to_hash(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="open"):
        FeedbackStore(tmp_path / "x.sqlite3").user_hash(1)


async def test_async_wrappers_run_in_threads(store: FeedbackStore) -> None:
    answer_id = await store.asave_answer(guild_id=1, question="Q", hits_shown=["a#1"], user_id=2)
    await store.aadd_shown(answer_id, ["b#2"])
    stored = await store.aget_answer(answer_id)
    assert stored is not None and stored.shown == 2
    results = await asyncio.gather(*(store.arecord_vote(answer_id, u, 1) for u in range(20)))
    assert all(results) and len(store.feedback_rows()) == 20
