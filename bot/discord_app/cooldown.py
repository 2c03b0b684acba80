"""A per-user cooldown on questions: pure, so it is tested without Discord or a clock."""

from __future__ import annotations

from collections.abc import Hashable


class Cooldown:
    """Allows one question per `seconds` per key; `0` turns it off."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[Hashable, float] = {}

    def retry_after(self, key: Hashable, now: float) -> float:
        """0 (and the question is counted) if `key` may ask now, else the seconds to wait."""
        if self.seconds <= 0:
            return 0.0
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[key] = now
        if len(self._last) > 10_000:
            self._forget_before(now - self.seconds)
        return 0.0

    async def aretry_after(self, key: Hashable, now: float) -> float:
        """The same, for the event loop (in memory: no thread needed; a database's is)."""
        return self.retry_after(key, now)

    def _forget_before(self, cutoff: float) -> None:
        """Keeps memory bounded on a busy server: expired entries decide nothing."""
        self._last = {k: t for k, t in self._last.items() if t >= cutoff}
