"""The conversation store: what a follow-up is read with, bounded, expiring, no user ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.discord_app.conversations import ConversationStore, Limits
from retrieval.search.followup import FollowUpContext

NOW = 1_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(
        tmp_path / "c.sqlite3", Limits(turns=2, max_age_seconds=3600, conversations=3)
    ).open()


def test_context_is_the_last_turns_oldest_first_and_cited_newest_first(
    store: ConversationStore,
) -> None:
    for n, cited in enumerate((["a", "b"], ["c"], ["b", "d"]), start=1):
        store.record_turn(7, guild_id=1, question=f"q{n}", cited=cited, now=NOW + n)
    context = store.context(7, now=NOW + 10)
    assert context == FollowUpContext(questions=("q2", "q3"), cited=("b", "d", "c"))
    # Only the turns a follow-up can use are kept.
    assert store.counts()["turns"] == 2


def test_unknown_and_idle_conversations_have_no_context(store: ConversationStore) -> None:
    store.record_turn(7, guild_id=1, question="q", cited=["a"], now=NOW)
    assert store.context(8, now=NOW) is None
    assert store.context(7, now=NOW + 3599) is not None
    assert store.context(7, now=NOW + 3601) is None


def test_a_reply_to_any_answer_finds_its_conversation(store: ConversationStore) -> None:
    store.record_turn(7, guild_id=1, question="q1", cited=["a"], answer_messages=[70], now=NOW)
    store.record_turn(7, guild_id=1, question="q2", cited=["b"], answer_messages=[71], now=NOW)
    assert store.conversation_of(70) == 7
    assert store.conversation_of(71) == 7
    assert store.conversation_of(72) is None


def test_prune_forgets_idle_and_the_oldest_beyond_the_cap(store: ConversationStore) -> None:
    for conversation in range(1, 6):
        store.record_turn(
            conversation,
            guild_id=None,
            question="q",
            cited=["a"],
            answer_messages=[conversation * 10],
            now=NOW + conversation,
        )
    store.record_turn(9, guild_id=None, question="old", cited=["a"], now=NOW - 7200)
    assert store.prune(answers_older_than=86_400, now=NOW + 10) == 3  # the idle one + 2 over
    assert [c for c in (1, 2, 3, 4, 5, 9) if store.context(c, now=NOW + 10)] == [3, 4, 5]
    assert store.conversation_of(10) is None  # its answer messages went with it
    assert store.counts()["conversations"] == 3


def test_more_results_keeps_the_context_an_answer_was_searched_with(
    store: ConversationStore,
) -> None:
    context = FollowUpContext(questions=("What did Kerry want?",), cited=("a1",))
    store.save_answer_context("ans1", context, now=NOW)
    assert store.answer_context("ans1") == context
    assert store.answer_context("other") is None
    store.prune(answers_older_than=60, now=NOW + 61)
    assert store.answer_context("ans1") is None


def test_no_user_ids_are_stored(store: ConversationStore) -> None:
    store.record_turn(7, guild_id=1, question="q", cited=["a"], answer_messages=[70], now=NOW)
    with sqlite3.connect(store.path) as db:
        columns = {
            column[1]
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for column in db.execute(f"PRAGMA table_info({table})")
        }
    assert not {c for c in columns if "user" in c or "author" in c}


def test_a_newer_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="delete the file"):
        ConversationStore(path).open()
