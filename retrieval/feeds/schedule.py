"""When a feed is polled next: its interval with jitter, never sooner than the feed asks
(RSS <ttl>, Cache-Control max-age), later and later after failures (Retry-After honoured).

Pure functions of the time and a random source, so the scheduler is tested with a fake clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_DELAY = 24 * 3600.0  # no feed waits longer than a day, whatever it asks or however it fails
JITTER = 0.1  # +-10 %: feeds added together do not stay in step


@dataclass(frozen=True)
class Schedule:
    interval: float  # seconds between polls (NEWSDESK_FEED_POLL_MINUTES)
    rng: random.Random

    def _jittered(self, delay: float) -> float:
        return delay * (1.0 + self.rng.uniform(-JITTER, JITTER))

    def after_success(
        self, now: float, *, ttl: float | None = None, max_age: float | None = None
    ) -> float:
        """The next poll after a good one: the interval, or longer if the feed asks for it."""
        delay = max(self.interval, ttl or 0.0, max_age or 0.0)
        return now + min(MAX_DELAY, self._jittered(delay))

    def after_failure(
        self, now: float, failures: int, *, retry_after: float | None = None
    ) -> float:
        """Exponential backoff: the interval times 2^(failures - 1), capped at a day; a server's
        Retry-After is waited out at least (up to the same cap)."""
        backoff = self.interval * 2 ** max(0, failures - 1)
        delay = max(min(MAX_DELAY, backoff), min(MAX_DELAY, retry_after or 0.0))
        return now + self._jittered(delay)

    def first(self, now: float) -> float:
        """A new subscription is polled at once."""
        return now
