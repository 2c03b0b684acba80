"""Feeds that attack or misbehave: each gives one clear line, indexes nothing twice, loses
nothing, and keeps memory bounded. Every test is bounded in time by small caps and timeouts."""

from __future__ import annotations

import ipaddress
import itertools
import tracemalloc

import pytest

from retrieval.engine import Engine
from retrieval.feeds.poller import FeedPoller
from retrieval.feeds.store import Feed
from retrieval.loaders import fetch as fetch_module
from retrieval.settings import RetrievalSettings
from tests.feeds.conftest import FakeClock
from tests.feeds.server import FeedServer, Route, RouteFor, rss
from tests.feeds.test_polling import STORY

OWN_TEXT = " ".join(STORY)  # long enough to be an article without its page


def _entries(count: int, *, prefix: str = "g") -> list[dict[str, str]]:
    return [
        {"title": f"Entry {n}", "guid": f"{prefix}{n}", "description": f"Entry {n}. {OWN_TEXT}"}
        for n in range(count)
    ]


async def _subscribed(poller: FeedPoller, server: FeedServer, route: Route | RouteFor) -> Feed:
    """A feed subscribed while it was well, then served as `route` from its next poll on."""
    url = server.set("/feed.xml", Route(rss("Town News", _entries(1))))
    feed = await poller.subscribe(url)
    server.set("/feed.xml", route)
    return feed


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>Bomb</title>
<item><title>&lol9;</title><guid>b</guid><description>&lol9;</description></item>
</channel></rss>"""
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><rss version="2.0"><channel><title>Q</title><item><title>'
    + b"&a;" * 50_000
    + b"</title></item></channel></rss>"
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>X</title><item><title>&x;</title><guid>x</guid>'
    b"</item></channel></rss>"
)


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, QUADRATIC, EXTERNAL], ids=["billion-laughs", "quadratic", "external"]
)
async def test_xml_bombs_are_refused(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine, body: bytes
) -> None:
    feed = await _subscribed(poller, feed_server, Route(body))
    tracemalloc.start()
    try:
        report = await poller.poll(feed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.error is not None
    assert "declares XML entities" in report.error and "\n" not in report.error
    assert peak < 50_000_000
    assert feed_engine.status().articles == 0
    assert poller.store.get(feed.id).last_error == report.error


async def test_a_feed_over_the_size_cap_is_refused(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine
) -> None:
    huge = rss("Huge", _entries(1)) + b" " * 50_000_000  # 50 MB
    feed = await _subscribed(poller, feed_server, Route(huge))
    tracemalloc.start()
    try:
        report = await poller.poll(feed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.error == "feed is larger than 10 MB"
    assert peak < 30_000_000  # nothing near the whole body was held
    assert feed_engine.status().articles == 0


async def test_a_streamed_feed_over_the_cap_is_cut_off(
    poller: FeedPoller, feed_server: FeedServer
) -> None:
    """No Content-Length to refuse by: the cap applies while reading."""
    feed = await _subscribed(poller, feed_server, lambda _path: Route(b"x" * 11_000_000))
    small = poller.settings.model_copy(update={"feed_max_bytes": 1_000_000})
    poller.settings = small
    report = await poller.poll(feed)
    assert report.error == "feed is larger than 1 MB"


async def test_ten_thousand_entries_come_in_over_several_polls(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine, clock: FakeClock
) -> None:
    poller.settings = poller.settings.model_copy(update={"feed_max_entries_per_poll": 40})
    body = rss("Archive", _entries(10_000))
    feed = await _subscribed(poller, feed_server, Route(body, etag='"big"'))
    seen: set[str] = set()
    for poll in range(3):
        report = await poller.poll(poller.store.get(feed.id))
        assert report.error is None, report.error
        assert len(report.added) == 40
        assert report.waiting == 10_000 - 40 * (poll + 1)
        titles = {a.title for a in report.added}
        assert not titles & seen  # none twice
        seen |= titles
        clock.advance(3600)
    assert feed_engine.status().articles == 120
    # the ETag is not kept while entries wait, so the next poll reads the feed again
    assert feed_server.conditional_hits.get("/feed.xml", 0) == 0


async def test_entry_links_to_private_addresses_are_refused(
    poller: FeedPoller,
    feed_server: FeedServer,
    feed_engine: Engine,
    feed_settings: RetrievalSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test server stands in for a public site (127.0.0.1 counts as public); its entries
    link to private space."""
    real = fetch_module.refusal_reason  # type: ignore[attr-defined]

    def server_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(ip) == "127.0.0.1" else real(ip)

    monkeypatch.setattr(fetch_module, "refusal_reason", server_is_public)
    poller.settings = feed_settings.model_copy(update={"allow_private_urls": False})

    async def target(collection: str) -> object:
        from retrieval.feeds.poller import Target

        return Target(feed_engine, poller.settings)

    poller.target_for = target  # type: ignore[assignment]
    port = feed_server.base.rsplit(":", 1)[1]
    good = feed_server.page("/news/good", "A good story", STORY)
    items = [
        {"title": "Metadata", "link": "http://169.254.169.254/latest/meta-data/", "guid": "1"},
        {"title": "Private", "link": "http://10.0.0.5/story", "guid": "2"},
        {"title": "Localhost", "link": f"http://localhost:{port}/news/good", "guid": "3"},
        {"title": "File", "link": "file:///etc/passwd", "guid": "4"},
        {"title": "A good story", "link": good, "guid": "5"},
    ]
    feed = await _subscribed(poller, feed_server, Route(rss("Town News", items)))
    report = await poller.poll(feed)
    assert [a.title for a in report.added] == ["A good story"]
    failed = "\n".join(report.failed)
    assert "169.254.169.254 is a link-local address" in failed
    assert "10.0.0.5 is a private address" in failed
    assert "localhost resolves to a loopback address" in failed
    assert "not file:" in failed
    hits_before = dict(feed_server.hits)
    clock_feed = poller.store.get(feed.id)
    again = await poller.poll(clock_feed)
    assert not again.added and feed_server.hits.get("/news/good") == hits_before.get("/news/good")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(silent=True), "127.0.0.1 did not answer within 1 s"),
        (Route(rss("Slow", _entries(3)), trickle=0.05), "127.0.0.1 did not answer within 1 s"),
        (
            Route(b"\x89PNG....", content_type="image/png"),
            "127.0.0.1 answered image/png, not a feed",
        ),
        (Route(b"gone", status=404, content_type="text/plain"), "127.0.0.1 answered HTTP 404"),
    ],
    ids=["silent", "trickle", "wrong-type", "404"],
)
async def test_misbehaving_servers_fail_the_poll_in_one_line(
    poller: FeedPoller, feed_server: FeedServer, route: Route, reason: str, clock: FakeClock
) -> None:
    poller.settings = poller.settings.model_copy(update={"fetch_timeout_seconds": 1.0})
    feed = await _subscribed(poller, feed_server, route)
    report = await poller.poll(feed)
    assert report.error == reason
    stored = poller.store.get(feed.id)
    assert stored.failures == 1 and stored.state == "failing"
    assert stored.next_poll_at >= clock.now + 0.9 * poller.schedule.interval


async def test_redirects_into_private_space_are_refused(
    poller: FeedPoller,
    feed_server: FeedServer,
    feed_settings: RetrievalSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = fetch_module.refusal_reason  # type: ignore[attr-defined]
    monkeypatch.setattr(
        fetch_module, "refusal_reason", lambda ip: None if str(ip) == "127.0.0.1" else real(ip)
    )
    route = Route(status=302, headers={"Location": "http://10.0.0.5/feed.xml"})
    feed = await _subscribed(poller, feed_server, route)
    poller.settings = feed_settings.model_copy(update={"allow_private_urls": False})
    report = await poller.poll(feed)
    assert report.error == (
        "10.0.0.5 is a private address, which is refused "
        "(set NEWSDESK_ALLOW_PRIVATE_URLS=1 to allow private addresses)"
    )


async def test_malformed_xml_uses_what_parses_and_says_so(
    poller: FeedPoller, feed_server: FeedServer
) -> None:
    body = rss("Town News", _entries(2)).replace(b"</channel></rss>", b"<item><title>broken")
    feed = await _subscribed(poller, feed_server, Route(body))
    report = await poller.poll(feed)
    assert sorted(a.title for a in report.added) == ["Entry 0", "Entry 1"]
    assert report.problem is not None and report.problem.startswith("malformed feed (")
    assert poller.store.get(feed.id).last_error == report.problem


async def test_a_feed_that_renames_every_guid_does_not_flood(
    poller: FeedPoller, feed_server: FeedServer, feed_engine: Engine, clock: FakeClock
) -> None:
    polls = iter(range(100))
    feed = await _subscribed(
        poller,
        feed_server,
        lambda _path: Route(rss("Town News", _entries(5, prefix=f"poll{next(polls)}-"))),
    )
    first = await poller.poll(feed)
    assert len(first.added) == 5
    for _ in range(3):
        clock.advance(3600)
        again = await poller.poll(poller.store.get(feed.id))
        assert again.added == [] and again.updated == [], again.summary()
    assert feed_engine.status().articles == 5


async def test_gone_unsubscribes(poller: FeedPoller, feed_server: FeedServer) -> None:
    feed = await _subscribed(poller, feed_server, Route(b"", status=410, content_type="text/plain"))
    report = await poller.poll(feed)
    assert report.unsubscribed
    assert report.summary() == "Town News: the feed is gone (HTTP 410); unsubscribed"
    assert poller.store.feeds() == []


async def test_too_many_requests_waits_out_retry_after(
    poller: FeedPoller, feed_server: FeedServer, clock: FakeClock
) -> None:
    route = Route(b"", status=429, content_type="text/plain", headers={"Retry-After": "7200"})
    feed = await _subscribed(poller, feed_server, route)
    report = await poller.poll(feed)
    assert report.error == "127.0.0.1 answered HTTP 429 (retry after 7200 s)"
    next_poll = poller.store.get(feed.id).next_poll_at
    assert clock.now + 7200 * 0.9 <= next_poll <= clock.now + 7200 * 1.1
    assert poller.store.due(clock.now + 3600) == []


async def test_repeated_failures_back_off_then_disable(
    poller: FeedPoller, feed_server: FeedServer, clock: FakeClock
) -> None:
    poller.settings = poller.settings.model_copy(update={"feed_max_failures": 4})
    feed = await _subscribed(poller, feed_server, Route(b"", status=500, content_type="text/plain"))
    delays = []
    for _ in range(4):
        current = poller.store.get(feed.id)
        report = await poller.poll(current)
        after = poller.store.get(feed.id)
        delays.append(after.next_poll_at - clock.now)
        clock.advance(after.next_poll_at - clock.now)
    assert all(b > 1.5 * a for a, b in itertools.pairwise(delays))
    assert report.disabled and after.state == "disabled"
    assert poller.store.due(clock.now + 10**6) == []
    assert "disabled after repeated failures" in report.summary()
