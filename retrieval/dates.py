"""Articles' dates: what sources write, read into timezone-aware timestamps.

Parsing is dateparser's (ISO 8601 goes through the standard library first, which keeps the
writer's UTC offset for display). Only absolute dates with a day, a month and a year are
dates: "next Tuesday" or "in March" in a date field says nothing about when the article was
written, so such values are refused, as is anything that does not parse.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Date-only and naive values are read in UTC: a source that gives no zone gives none.
_PARSER_SETTINGS: dict[str, Any] = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "PREFER_DATES_FROM": "past",
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
}


def parse_date(value: object) -> dt.datetime | None:
    """An absolute date or time as an aware datetime; None for anything else."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    try:
        return parse_date(dt.datetime.fromisoformat(text))
    except ValueError:
        pass  # not ISO 8601: the general parser's turn
    import dateparser  # ~0.15 s to import: only when a date is not ISO

    found: dt.datetime | None = dateparser.parse(text, languages=["en"], settings=_PARSER_SETTINGS)
    return found


def warm_up() -> None:
    """Import the date parser and compile its patterns now. The first non-ISO date otherwise
    does it (~0.15 s), and compiling regular expressions holds the GIL: in a worker thread
    of the bot it would stall the event loop for that long."""
    parse_date("1 January 2025")


def article_date(value: object, *, field: str, where: str) -> dt.datetime | None:
    """`parse_date`, with a warning naming the file when a value is there but is no date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = parse_date(value)
    if parsed is None:
        logger.warning(
            "%s: %s %r is not a date (an absolute day, month and year); it is kept as text "
            "and not used for time",
            where,
            field,
            value,
        )
    return parsed


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset the source gave (what files and `--json` carry)."""
    return None if value is None else value.isoformat()


def timestamp(value: dt.datetime | None) -> float | None:
    """Seconds since the epoch (what sorting and windows compare)."""
    return None if value is None else value.timestamp()


def short_date(value: dt.datetime) -> str:
    """'15 Dec 2015': the day in the source's own zone, in every locale the same."""
    return f"{value.day} {value.strftime('%b %Y')}"


@dataclass(frozen=True)
class TimeWindow:
    """The stretch of time a question is about: `since` inclusive, `before` exclusive."""

    since: dt.datetime | None = None
    before: dt.datetime | None = None

    def __bool__(self) -> bool:
        return self.since is not None or self.before is not None

    def bounds(self) -> tuple[float, float]:
        """(since, before) in epoch seconds, open ends as ∓inf: what row masks compare."""
        low = self.since.timestamp() if self.since is not None else float("-inf")
        high = self.before.timestamp() if self.before is not None else float("inf")
        return low, high

    def contains(self, value: dt.datetime | None) -> bool:
        if value is None:
            return not self  # an undated article is in no window but the unbounded one
        low, high = self.bounds()
        return low <= value.timestamp() < high

    def intersect(self, other: TimeWindow) -> TimeWindow:
        since = max((d for d in (self.since, other.since) if d is not None), default=None)
        before = min((d for d in (self.before, other.before) if d is not None), default=None)
        return TimeWindow(since, before)


# Keys sources use for the two dates, in order of preference.
PUBLISHED_KEYS = ("published", "date", "pubDate", "datePublished")
UPDATED_KEYS = ("updated", "modified", "dateModified")


def take_dates(
    meta: dict[str, str], *, where: str
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The published and updated dates named in `meta` (front matter, a JSONL record),
    taken out of it. A value that is no date stays in `meta`, so it is kept as text."""
    found: list[dt.datetime | None] = []
    for keys in (PUBLISHED_KEYS, UPDATED_KEYS):
        key = next((k for k in keys if meta.get(k)), None)
        value = article_date(meta[key], field=key, where=where) if key is not None else None
        if value is not None and key is not None:
            del meta[key]
        found.append(value)
    published, updated = found
    if published is None and updated is not None:
        published, updated = updated, None  # a story's only date is when it was written
    if published is not None and updated is not None and updated <= published:
        updated = None  # "updated" at or before publication adds nothing
    return published, updated
