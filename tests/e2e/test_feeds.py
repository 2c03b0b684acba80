"""/feed through the fake Discord with the real discord.py client, against a feed server on
loopback: follow, the first poll indexes and announces, list, the poll loop, remove."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import MakeDesk
from tests.feeds.server import FeedServer, Route, rss, serving
from tests.feeds.test_polling import OTHER, STORY

pytestmark = pytest.mark.timeout(90)


async def test_follow_a_feed_then_ask_list_poll_and_remove(make_desk: MakeDesk) -> None:
    with serving() as server:
        await _run(make_desk, server)


async def _run(make_desk: MakeDesk, server: FeedServer) -> None:
    desk = await make_desk(retrieval={"allow_private_urls": True})
    ferry = server.page("/news/ferry", "Harbour approves ferry terminal", STORY)
    items = [{"title": "Harbour approves ferry terminal @everyone", "link": ferry, "guid": "1"}]
    url = server.set("/rss.xml", Route(rss("Town News", items), etag='"1"'))

    refused = await desk.slash(desk.alice, "feed", {"add": {"url": url}})
    assert "feeds" in refused.followups[0].content.lower()
    assert desk.services.feeds.store.feeds() == []

    handle = await desk.slash(desk.admin, "feed", {"add": {"url": url, "channel": desk.channel.id}})
    text = handle.followups[0].content
    assert text.startswith("Following **Town News** (feed 1); new entries are read every 30")
    announced = await desk.fake.wait_for_message(desk.channel, lambda m: "New from" in m.content)
    assert "[Harbour approves ferry terminal @\u200beveryone](<" in announced.content
    reply = await desk.say(desk.alice, "!ask When does construction of the ferry terminal begin?")
    assert "Harbour approves ferry terminal" in reply.embeds[0]["title"]

    listing = await desk.slash(desk.alice, "feed", {"list": {}})
    assert "`1` **Town News**" in listing.followups[0].content
    assert "1 entries" in listing.followups[0].content

    library = server.page("/news/library", "Library extends opening hours", OTHER)
    items.append({"title": "Library extends opening hours", "link": library, "guid": "2"})
    server.set("/rss.xml", Route(rss("Town News", items), etag='"2"'))
    desk.services.feeds.store.clock = lambda: 10**12  # the next poll is due
    await desk.bot.poll_feeds_once()
    assert desk.services.engines.opened()[0].engine.status().articles >= 2
    reply = await desk.say(desk.alice, "!ask How late will the library stay open on weekdays?")
    assert reply.embeds[0]["title"].endswith("Library extends opening hours")

    typing = desk.fake.send_autocomplete(
        desk.channel, desk.admin, "feed", {"remove": {"feed": "town"}}, focused="feed"
    )
    await desk.fake.wait_for_interaction_response(typing)
    assert typing.choices == [{"name": "1 · Town News", "value": "1"}]
    removed = await desk.slash(desk.admin, "feed", {"remove": {"feed": "1"}})
    assert removed.followups[0].content.startswith("No longer following **Town News**")
    assert desk.services.feeds.store.feeds() == []
