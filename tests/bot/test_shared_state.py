"""The bot's state shared by its processes in PostgreSQL: answers, votes and cooldowns seen
alike from every process (two stores on one database stand for two processes)."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import SecretStr

from bot.discord_app.shared_state import DatabaseCooldown, DatabaseFeedbackStore
from retrieval.settings import RetrievalSettings

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
def shared(database_url: str) -> RetrievalSettings:
    return RetrievalSettings(_env_file=None, database_url=SecretStr(database_url))  # type: ignore[call-arg]


def test_an_answer_saved_by_one_process_is_voted_on_through_another(
    shared: RetrievalSettings,
) -> None:
    first, second = DatabaseFeedbackStore(shared).open(), DatabaseFeedbackStore(shared).open()
    assert first.user_hash(42) == second.user_hash(42)  # one salt for the whole bot
    answer = first.save_answer(guild_id=2**62, question="Q?", hits_shown=["a#1"], user_id=7)
    found = second.get_answer(answer)
    assert found is not None and found.guild_id == 2**62  # Discord ids need 64 bits
    second.add_shown(answer, ["b#2"])
    assert second.record_vote(answer, 42, 1)
    assert first.record_vote(answer, 42, -1)  # the same member, through the other process
    rows = first.feedback_rows()
    assert [(r.answer_id, r.vote, r.hits_shown) for r in rows] == [(answer, -1, ["a#1", "b#2"])]
    assert first.prune(older_than_seconds=-1) == 1
    assert second.get_answer(answer) is None
    assert len(second.feedback_rows()) == 1  # feedback outlives its answer


def test_the_cooldown_holds_across_processes(shared: RetrievalSettings) -> None:
    first, second = DatabaseCooldown(30, shared), DatabaseCooldown(30, shared)
    now = time.time()
    assert first.retry_after(7, now) == 0.0
    assert second.retry_after(7, now + 10) == pytest.approx(20.0)
    assert second.retry_after(8, now + 10) == 0.0  # another member
    assert first.retry_after(7, now + 31) == 0.0
    assert DatabaseCooldown(0, shared).retry_after(7, now + 32) == 0.0  # off


def test_simultaneous_questions_of_one_member_let_one_through(
    shared: RetrievalSettings,
) -> None:
    cooldowns = [DatabaseCooldown(60, shared) for _ in range(4)]
    now = time.time()
    waits: list[float] = []
    start = threading.Barrier(len(cooldowns))

    def ask(cooldown: DatabaseCooldown) -> None:
        start.wait(timeout=10)
        waits.append(cooldown.retry_after(99, now))

    threads = [threading.Thread(target=ask, args=(c,)) for c in cooldowns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(waits) == [0.0, 60.0, 60.0, 60.0]
