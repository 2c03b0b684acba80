"""Fixtures for the feed tests: a feed server on loopback, a poller over a hashing-encoder
engine, and a fake clock for the schedule."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from retrieval.engine import Engine
from retrieval.feeds.poller import FeedPoller, Target
from retrieval.feeds.store import FILE_NAME, FeedStore
from retrieval.settings import RetrievalSettings
from tests.feeds.server import FeedServer, serving


@dataclass
class FakeClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with serving() as server:
        yield server


@pytest.fixture
def feed_settings(settings: RetrievalSettings) -> RetrievalSettings:
    """The feed server is on loopback: private addresses are allowed (tests that check the
    refusal of private entry links make 127.0.0.1 count as public instead)."""
    return settings.model_copy(update={"allow_private_urls": True, "fetch_timeout_seconds": 5.0})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def feed_engine(feed_settings: RetrievalSettings, engine: Engine) -> Engine:
    return engine


@pytest.fixture
def poller(feed_settings: RetrievalSettings, feed_engine: Engine, clock: FakeClock) -> FeedPoller:
    store = FeedStore(feed_settings.index_dir / FILE_NAME, clock=clock)

    async def target(collection: str) -> Target:
        return Target(feed_engine, feed_settings)

    return FeedPoller(store, feed_settings, target, rng=random.Random(7))
