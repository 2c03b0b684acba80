"""Snowflake ids and timestamps shaped like Discord's.

discord.py derives ``created_at`` from snowflakes and parses ISO-8601 timestamps, so the fake
hands out real-looking, strictly increasing snowflakes instead of small integers; that keeps
ordering assumptions (``after=``/``before=`` history, "newest message") valid in tests.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Issues unique, monotonically increasing snowflakes (timestamp << 22 | counter)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (now_ms << 22) | (1 << 17)
        self._last = max(candidate, self._last + 1)
        return self._last


def snowflake_time(snowflake: int) -> dt.datetime:
    """The creation time encoded in ``snowflake``."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def iso_timestamp(when: dt.datetime | None = None) -> str:
    """ISO-8601 with microseconds and an explicit offset, as Discord writes them."""
    return (when or dt.datetime.now(tz=dt.UTC)).isoformat(timespec="microseconds")


def random_token(nbytes: int = 24) -> str:
    """An opaque URL-safe token (interaction tokens, session ids)."""
    return secrets.token_urlsafe(nbytes)
