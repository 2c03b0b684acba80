"""An article that says "@everyone" (or mentions a user or role) pings no one when quoted."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import Desk

pytestmark = pytest.mark.timeout(60)


async def test_everyone_in_an_article_pings_no_one(desk: Desk) -> None:
    role = desk.fake.add_role(desk.guild, "reporters", mentionable=True)
    body = (
        f"@everyone the harbour ferry timetable changes on Monday. @here <@{desk.alice.id}> "
        f"and <@&{role.id}> should check the new ferry departures at "
        "https://example.org/ferry_times before travelling. The first ferry now leaves at six."
    )
    added = await desk.slash(
        desk.admin, "add", {"title": "@everyone Ferry timetable changes", "text": body}
    )
    add_reply = added.followups[0]
    assert "@\u200beveryone" in add_reply.content  # the title is quoted, defused

    handle = await desk.slash(desk.alice, "ask", {"question": "When does the first ferry leave?"})
    answer = handle.followups[0]
    top = answer.embeds[0]
    assert top["title"].endswith("@\u200beveryone Ferry timetable changes")
    description = top["description"]
    assert "@\u200beveryone" in description and "@\u200bhere" in description
    assert f"<@\u200b{desk.alice.id}>" in description
    assert f"<@\u200b&{role.id}>" in description
    assert "<https://example.org/ferry_times>" in description  # no preview, link intact

    for message in (add_reply, answer):
        assert message.allowed_mentions == {"parse": []}
        assert message.mentioned_user_ids == []
        assert not message.payload["mention_everyone"]
        assert message.payload["mention_roles"] == []


async def test_no_match_reply_defuses_titles_too(make_desk: MakeDesk) -> None:
    desk = await make_desk(retrieval={"abstain_threshold": 1.0})  # everything is "no match"
    await desk.slash(
        desk.admin,
        "add",
        {"title": "@everyone zebra crossing", "text": "Zebra crossings help people cross roads."},
    )
    reply = await desk.say(desk.alice, "!ask zebra crossing rules")
    assert reply.content.startswith("No good match")
    assert "@\u200beveryone zebra crossing" in reply.content
    assert reply.mentioned_user_ids == [] and not reply.payload["mention_everyone"]
