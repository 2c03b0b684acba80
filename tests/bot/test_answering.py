"""Questions, "More results" and votes on a real engine (hashing encoder), without Discord."""

from __future__ import annotations

import logging
import re

import pytest

from bot.discord_app.answering import answer_question, more_results, record_vote
from bot.discord_app.errors import CooldownError, ExpiredError
from bot.discord_app.services import Services
from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from tests.factories import REUTERS_TITLE

pytestmark = pytest.mark.timeout(30)

QUESTION = "What did Kerry want from the Moscow talks?"


async def test_answer_cites_reuters_and_is_stored(services: Services) -> None:
    reply = await answer_question(services, question=QUESTION, guild_id=1, user_id=2, via="test")
    assert reply.embeds[0].title == f"[1] {REUTERS_TITLE}"
    # No time note; at most the count of weaker matches the page left out.
    assert reply.answer_id is not None
    assert reply.content is None or reply.content.endswith("More results shows them.)")
    stored = services.store.get_answer(reply.answer_id)
    assert stored is not None and stored.question == QUESTION
    assert stored.shown == len(reply.embeds)


async def test_more_then_vote(services: Services) -> None:
    reply = await answer_question(services, question=QUESTION, guild_id=1, user_id=2, via="test")
    assert reply.answer_id is not None and reply.has_more
    more = await more_results(services, answer_id=reply.answer_id)
    assert more.embeds[0].title is not None
    assert more.embeds[0].title.startswith(f"[{len(reply.embeds) + 1}] ")
    voted = await record_vote(services, answer_id=reply.answer_id, user_id=2, vote=-1)
    assert voted.ephemeral and voted.content is not None and voted.content.startswith("Thanks")
    [row] = services.store.feedback_rows()
    assert row.vote == -1 and len(row.hits_shown) == len(reply.embeds) + len(more.embeds)


async def test_more_runs_out(services: Services) -> None:
    reply = await answer_question(services, question=QUESTION, guild_id=1, user_id=2, via="test")
    assert reply.answer_id is not None
    last = reply
    for _ in range(20):
        last = await more_results(services, answer_id=reply.answer_id)
        if not last.embeds:
            break
    assert last.content == "No more excerpts for that question." and last.ephemeral


async def test_expired_buttons(services: Services) -> None:
    with pytest.raises(ExpiredError):
        await more_results(services, answer_id="gone")
    with pytest.raises(ExpiredError):
        await record_vote(services, answer_id="gone", user_id=1, vote=1)


async def test_no_match(services: Services) -> None:
    services.engines.opened()[0].engine.settings = services.settings.model_copy(
        update={"abstain_threshold": 1.0}
    )
    reply = await answer_question(
        services, question="Where do zebras graze in winter?", guild_id=1, user_id=2, via="test"
    )
    assert reply.embeds == [] and reply.answer_id is None
    assert reply.content is not None and reply.content.startswith("No good match")


async def test_vague_question_asks_for_something_specific(services: Services) -> None:
    reply = await answer_question(
        services, question="What is it?", guild_id=1, user_id=2, via="test"
    )
    assert reply.embeds == [] and reply.answer_id is None
    assert reply.content is not None and reply.content.startswith("Ask about something specific")


async def test_refused_questions_do_not_start_the_cooldown(services: Services) -> None:
    """The engine refuses first (NEWSDESK_MAX_QUESTION_CHARS): a member may retry at once."""
    services.cooldown.seconds = 60
    with pytest.raises(QuestionTooLongError, match="under 500 characters"):
        await answer_question(services, question="x " * 400, guild_id=1, user_id=2, via="test")
    with pytest.raises(EmptyQuestionError):
        await answer_question(services, question=" ?! ", guild_id=1, user_id=2, via="test")
    await answer_question(services, question=QUESTION, guild_id=1, user_id=2, via="test")
    with pytest.raises(CooldownError):
        await answer_question(services, question=QUESTION, guild_id=1, user_id=2, via="test")
    await answer_question(services, question=QUESTION, guild_id=1, user_id=3, via="test")


async def test_one_log_line_per_question_without_text(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.discord_app.answering"):
        await answer_question(services, question=QUESTION, guild_id=1, user_id=2, via="slash")
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.discord_app.answering"]
    assert line.startswith("question via=slash guild=1 latency_ms=")
    assert re.search(r" hits=[1-5] abstained=False", line) and "Kerry" not in line
    caplog.clear()
    services.bot_settings.log_question_text = True
    with caplog.at_level(logging.INFO, logger="bot.discord_app.answering"):
        await answer_question(services, question=QUESTION, guild_id=None, user_id=2, via="dm")
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.discord_app.answering"]
    assert "guild=dm" in line and f"question={QUESTION!r}" in line


async def test_a_5000_word_question_is_refused_by_the_bot_in_one_line(services: Services) -> None:
    question = " ".join(["Kerry", "Moscow", "talks", "progress"] * 1250)
    with pytest.raises(QuestionTooLongError) as info:
        await answer_question(services, question=question, guild_id=1, user_id=2, via="test")
    assert str(info.value) == "Please keep questions under 500 characters."


async def test_a_question_in_another_language_gets_the_note_in_discord(
    services: Services,
) -> None:
    french = "Qu'est-ce que Kerry voulait obtenir des pourparlers de Moscou ?"
    reply = await answer_question(services, question=french, guild_id=1, user_id=2, via="test")
    shown = (reply.content or "") + "".join(str(e.description) for e in reply.embeds)
    assert "the collection is searched in English" in shown
    english = await answer_question(services, question=QUESTION, guild_id=1, user_id=3, via="t")
    assert "searched in English" not in (english.content or "")
