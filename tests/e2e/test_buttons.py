""" "More results" and 👍/👎 under an answer, before and after a restart."""

from __future__ import annotations

import sqlite3

import pytest

from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, Desk
from tests.fakediscord import FakeMessage

pytestmark = pytest.mark.timeout(60)


def button_ids(message: FakeMessage) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"]]


def button(message: FakeMessage, prefix: str) -> str:
    return next(b for b in button_ids(message) if b.startswith(prefix))


async def asked(desk: Desk) -> FakeMessage:
    handle = await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})
    return handle.followups[0]


async def test_more_results_continues_the_numbering(desk: Desk) -> None:
    answer = await asked(desk)
    first_titles = [e["title"] for e in answer.embeds]
    more = await desk.click(answer, button(answer, "nd:more:"), desk.alice)
    assert more.embeds, more.content
    assert more.embeds[0]["title"].startswith(f"[{len(first_titles) + 1}] ")
    stored = desk.services.store.get_answer(button(answer, "nd:more:").split(":")[-1])
    assert stored is not None and stored.shown == len(first_titles) + len(more.embeds)


async def test_feedback_is_stored_hashed_and_can_change(desk: Desk) -> None:
    answer = await asked(desk)
    thanks = await desk.click(answer, button(answer, "nd:vote:up:"), desk.alice)
    assert thanks.content.startswith("Thanks")
    assert thanks.ephemeral
    [row] = desk.services.store.feedback_rows()
    assert row.vote == 1
    assert row.question == REUTERS_QUESTION
    assert len(row.hits_shown) == len(answer.embeds)
    assert row.hits_shown[0].startswith("kerry-seeks-real-progress-on-syria#")
    assert len(row.user_hash) == 64 and str(desk.alice.id) not in row.user_hash
    # Changing one's mind replaces the vote instead of adding a row.
    await desk.click(answer, button(answer, "nd:vote:down:"), desk.alice)
    [row] = desk.services.store.feedback_rows()
    assert row.vote == -1
    await desk.click(answer, button(answer, "nd:vote:up:"), desk.editor)
    assert sorted(r.vote for r in desk.services.store.feedback_rows()) == [-1, 1]


async def test_buttons_work_after_a_restart_or_say_they_expired(make_desk: MakeDesk) -> None:
    first = await make_desk()
    answer = await asked(first)
    await first.stop()

    second = await make_desk(sync=False)  # a new process: new bot, same index and store
    more = await second.click(answer, button(answer, "nd:more:"), second.alice)
    assert more.embeds and more.embeds[0]["title"].startswith(f"[{len(answer.embeds) + 1}] ")

    answer_id = button(answer, "nd:more:").split(":")[-1]
    with sqlite3.connect(second.services.store.path) as db:  # as if pruned long ago
        db.execute("DELETE FROM answers WHERE id = ?", (answer_id,))
    expired = await second.click(answer, button(answer, "nd:vote:up:"), second.alice)
    assert expired.content == "These buttons have expired. Please ask the question again."
    assert second.services.store.feedback_rows() == []
