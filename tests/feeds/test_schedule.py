"""When feeds are polled: the interval with jitter, what the feed asks (ttl, max-age), backoff;
and the poller driven by an injected clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from retrieval.feeds.poller import FeedPoller
from retrieval.feeds.schedule import MAX_DELAY, Schedule
from retrieval.feeds.store import CLAIM_LEASE, FeedStore
from tests.feeds.conftest import FakeClock
from tests.feeds.server import FeedServer, Route, rss
from tests.feeds.test_hostile_feeds import _entries

INTERVAL = 1800.0


def _schedule(seed: int = 1) -> Schedule:
    return Schedule(INTERVAL, random.Random(seed))


def test_the_interval_is_jittered_within_ten_percent() -> None:
    delays = [_schedule(seed).after_success(0.0) for seed in range(200)]
    assert all(0.9 * INTERVAL <= d <= 1.1 * INTERVAL for d in delays)
    assert len({round(d) for d in delays}) > 50  # spread out, not in step


@pytest.mark.parametrize(
    ("ttl", "max_age", "expected"),
    [
        (None, None, INTERVAL),
        (7200.0, None, 7200.0),
        (None, 3600.0, 3600.0),
        (60.0, 30.0, INTERVAL),
    ],
)
def test_a_feed_is_never_polled_sooner_than_it_asks(
    ttl: float | None, max_age: float | None, expected: float
) -> None:
    delay = _schedule().after_success(0.0, ttl=ttl, max_age=max_age)
    assert 0.9 * expected <= delay <= 1.1 * expected


def test_backoff_doubles_and_is_capped() -> None:
    schedule = _schedule()
    delays = [schedule.after_failure(0.0, n) for n in range(1, 12)]
    assert 0.9 * INTERVAL <= delays[0] <= 1.1 * INTERVAL
    assert 1.8 * INTERVAL <= delays[1] <= 2.2 * INTERVAL
    assert max(delays) <= 1.1 * MAX_DELAY
    assert schedule.after_failure(0.0, 1, retry_after=10 * INTERVAL) >= 9 * INTERVAL


async def test_poll_due_polls_only_the_feeds_whose_time_has_come(
    poller: FeedPoller, feed_server: FeedServer, clock: FakeClock
) -> None:
    first = await poller.subscribe(feed_server.set("/a.xml", Route(rss("A", _entries(2)))))
    clock.advance(600)
    second = await poller.subscribe(
        feed_server.set(
            "/b.xml",
            Route(rss("B", _entries(2, prefix="b")), headers={"Cache-Control": "max-age=7200"}),
        )
    )
    reports = await poller.poll_due()
    assert [r.feed.id for r in reports] == [first.id, second.id]
    assert await poller.poll_due() == []  # nothing due until the interval has passed
    clock.advance(INTERVAL * 1.15)
    reports = await poller.poll_due()
    assert [r.feed.id for r in reports] == [first.id]  # B asked for two hours
    clock.advance(7200)
    assert {r.feed.id for r in await poller.poll_due()} == {first.id, second.id}
    assert feed_server.hits["/a.xml"] == 4  # subscribe, and three polls


async def test_processes_sharing_the_feed_list_poll_each_due_feed_once(
    poller: FeedPoller, feed_server: FeedServer, clock: FakeClock
) -> None:
    """Bot shards (or the bot and cron's `feeds poll --due`) on one feed list: a due feed is
    claimed by one of them; a claim whose poller died runs out and the feed is polled again."""
    urls = [
        feed_server.set(f"/{n}.xml", Route(rss(str(n), _entries(1, prefix=str(n)))))
        for n in range(4)
    ]
    for url in urls:
        await poller.subscribe(url)
    other = FeedPoller(
        FeedStore(poller.store.path, clock=clock),
        poller.settings,
        poller.target_for,
        rng=random.Random(8),
    )
    clock.advance(INTERVAL * 1.2)
    mine, theirs = await asyncio.gather(poller.poll_due(), other.poll_due())
    polled = [r.feed.id for r in [*mine, *theirs]]
    assert sorted(polled) == sorted({f.id for f in poller.store.feeds()})
    assert all(feed_server.hits[f"/{n}.xml"] == 2 for n in range(4))  # subscribe + one poll
    # A claim that is never followed by a poll (its process was killed) runs out.
    clock.advance(INTERVAL * 1.2)
    claimed = poller.store.claim_due()
    assert len(claimed) == 4
    assert other.store.claim_due() == []
    clock.advance(CLAIM_LEASE + 1)
    assert {r.feed.id for r in await other.poll_due()} == {f.id for f in claimed}
