"""Asking: `!ask`, `/ask`, @mention and answer channels; no match; cooldown; the limits."""

from __future__ import annotations

from typing import Any

import pytest

from bot.discord_app.embeds import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    MAX_FOOTER,
    MAX_TITLE,
    MAX_TOTAL,
)
from bot.discord_app.errors import CooldownError
from retrieval.errors import EmptyQuestionError
from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, WAIT, Desk

pytestmark = pytest.mark.timeout(60)


def titles(embeds: list[dict[str, Any]]) -> list[str]:
    return [e["title"] for e in embeds]


def assert_cites_reuters(embeds: list[dict[str, Any]]) -> None:
    assert embeds, "no citations"
    assert embeds[0]["title"] == f"[1] {REUTERS_TITLE}"
    assert "Kerry" in embeds[0]["description"]
    assert "**" in embeds[0]["description"]  # the best-matching sentence is bold


async def test_prefix_ask_cites_reuters(desk: Desk) -> None:
    reply = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert_cites_reuters(reply.embeds)
    assert reply.payload["message_reference"]["channel_id"] == str(desk.channel.id)
    buttons = [c["custom_id"] for c in reply.components[0]["components"]]
    assert buttons[0].startswith("nd:more:")
    assert any(b.startswith("nd:vote:up:") for b in buttons)


async def test_slash_ask_defers_then_cites_reuters(desk: Desk) -> None:
    handle = await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})
    assert handle.response_type == 5  # deferred "thinking…" at once
    assert_cites_reuters(handle.followups[0].embeds)
    assert handle.followups[0] is handle.original


async def test_mention_cites_reuters(desk: Desk) -> None:
    mention = f"<@{desk.fake.bot_user.id}>"
    reply = await desk.say(desk.alice, f"{mention} {REUTERS_QUESTION}")
    assert_cites_reuters(reply.embeds)


async def test_answer_channel_takes_every_message_and_ignores_bots(desk: Desk) -> None:
    other_bot = desk.fake.add_user("another-bot", bot=True)
    desk.fake.add_member(desk.guild, other_bot)
    desk.fake.send_user_message(desk.answers, other_bot, "What is oxygen?")
    reply = await desk.say(desk.alice, REUTERS_QUESTION, channel=desk.answers)
    assert_cites_reuters(reply.embeds)  # the first bot reply is to alice: the bot was ignored
    assert len(desk.bot_messages()) == 1
    # In an ordinary channel, a plain message is not a question.
    desk.fake.send_user_message(desk.channel, desk.alice, "What is oxygen?")
    again = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert again.payload["referenced_message"]["content"].startswith("!ask")


async def test_empty_mention_asks_for_a_question(desk: Desk) -> None:
    reply = await desk.say(desk.alice, f"<@{desk.fake.bot_user.id}>")
    assert reply.content.startswith("Ask a question with some words")
    assert desk.errors.seen == []  # handled in the listener, not a command error


async def test_no_match_lists_nearest_titles(make_desk: MakeDesk) -> None:
    desk = await make_desk(retrieval={"abstain_threshold": 0.3})  # the product default
    # A sentence: a bare bag of rare nouns reads as Latin to the language detector, and the
    # other-language note would be a third line.
    reply = await desk.say(desk.alice, "!ask Where do zebras play quantum origami on a xylophone?")
    assert reply.embeds == [] and reply.components == []
    first, nearest = reply.content.split("\n")
    assert first == "No good match in the articles for that question."
    assert nearest.startswith("Nearest articles: ")
    assert len(nearest.removeprefix("Nearest articles: ").split("; ")) >= 1


async def test_cooldown_per_user(make_desk: MakeDesk) -> None:
    desk = await make_desk(ask_cooldown_seconds=30)
    first = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert first.embeds
    second = await desk.say(desk.alice, "!ask What is oxygen?")
    assert second.embeds == []
    assert "try again in" in second.content and " s." in second.content
    # Someone else is not slowed down by alice.
    handle = await desk.slash(desk.editor, "ask", {"question": REUTERS_QUESTION})
    assert handle.followups[0].embeds
    assert desk.errors.expected_types() == [CooldownError]


async def test_empty_prefix_question_is_refused_politely(desk: Desk) -> None:
    reply = await desk.say(desk.alice, "!ask ???")
    assert reply.content.startswith("Ask a question with some words")
    assert desk.errors.expected_types() == [EmptyQuestionError]


async def test_ten_citation_answer_within_every_limit(make_desk: MakeDesk) -> None:
    desk = await make_desk(retrieval={"top_k": 10, "per_article_cap": 0})
    handle = await desk.slash(desk.alice, "ask", {"question": "the history of the world"})
    message = handle.followups[0]
    embeds = message.embeds
    assert len(embeds) == 10 <= MAX_EMBEDS
    assert [t.split("]")[0] for t in titles(embeds)] == [f"[{n}" for n in range(1, 11)]
    total = 0
    for embed in embeds:
        assert len(embed["title"]) <= MAX_TITLE
        assert len(embed["description"]) <= MAX_DESCRIPTION
        assert len(embed["footer"]["text"]) <= MAX_FOOTER
        assert len(embed.get("fields", [])) <= MAX_FIELDS
        for field in embed.get("fields", []):
            assert len(field["name"]) <= MAX_FIELD_NAME and len(field["value"]) <= MAX_FIELD_VALUE
        assert embed["description"].count("**") == 2  # one highlighted sentence, whole
        total += len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    assert total <= MAX_TOTAL
    assert len(message.content) <= MAX_CONTENT
    # "More results" carries on numbering from 11.
    more = await desk.click(
        message, message.components[0]["components"][0]["custom_id"], desk.alice
    )
    assert more.embeds[0]["title"].startswith("[11] ")


async def test_several_members_in_a_row(desk: Desk) -> None:
    """Several questions in a row from several people, each answered once."""
    for user in (desk.alice, desk.editor, desk.admin):
        reply = await desk.say(user, f"!ask {REUTERS_QUESTION}")
        assert_cites_reuters(reply.embeds)
    await desk.fake.wait_until(lambda: len(desk.bot_messages()) == 3, timeout=WAIT)


async def test_direct_message_and_role_mention_are_questions(desk: Desk) -> None:
    dm = desk.fake.dm_channel(desk.alice)
    private = await desk.say(desk.alice, REUTERS_QUESTION, channel=dm)
    assert_cites_reuters(private.embeds)
    own_role = next(r for r in desk.guild.roles.values() if r.bot_id == desk.fake.bot_user.id)
    reply = await desk.say(desk.alice, f"<@&{own_role.id}> {REUTERS_QUESTION}")
    assert_cites_reuters(reply.embeds)


async def test_slash_ask_since_and_before_options_keep_to_their_window(desk: Desk) -> None:
    handle = await desk.slash(
        desk.alice, "ask", {"question": REUTERS_QUESTION, "since": "2031-01-01"}
    )
    reply = handle.followups[0]
    # Nothing was published then: said so (no citations), not answered from other days.
    assert reply.payload["content"].startswith("No articles since 1 Jan 2031.")
    assert not reply.embeds
    assert reply.allowed_mentions == {"parse": []}
    bad = await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION, "before": "soon"})
    assert "before:soon is not a date" in bad.followups[0].payload["content"]
