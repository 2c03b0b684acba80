"""The words of `/feed` and of feed announcements, without Discord: plain strings within
Discord's limits (2,000 characters a message), titles escaped, links without previews."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from retrieval.documents import Article
from retrieval.feeds.store import Feed

MESSAGE_LIMIT = 2000
CHOICE_LIMIT = 25  # autocomplete choices Discord shows
CHOICE_NAME_LIMIT = 100


def _escaped(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _fits(lines: list[str], more: int, limit: int) -> str:
    """`lines` as one message, cut to whole lines with "… and N more" when too long."""
    out: list[str] = []
    for index, line in enumerate(lines):
        rest = more + len(lines) - index
        tail = f"… and {rest} more"
        if len("\n".join([*out, line])) + len(tail) + 1 > limit:
            return "\n".join([*out, tail])
        out.append(line)
    return "\n".join(out + ([f"… and {more} more"] if more else []))


def announcement(feed: Feed, articles: Sequence[Article], *, limit: int = MESSAGE_LIMIT) -> str:
    """One message for one poll's new articles: titles as links, previews suppressed (<url>)."""
    head = f"**New from {_escaped(feed.name)}** ({len(articles)}):"
    lines = [head]
    for article in articles:
        title = _escaped(article.title[:200])
        lines.append(f"• [{title}](<{article.url}>)" if article.url else f"• {title}")
    return _fits(lines, 0, limit)


def feed_line(feed: Feed) -> str:
    last = f"<t:{int(feed.last_poll_at)}:R>" if feed.last_poll_at is not None else "not yet"
    state = {"ok": "", "new": " · waiting for its first poll", "failing": " · failing"}.get(
        feed.state, " · **disabled** after repeated failures"
    )
    line = (
        f"`{feed.id}` **{_escaped(feed.name[:120])}**{state}\n"
        f"<{feed.url}> · {feed.entries} entries · last poll {last}"
    )
    if feed.announce_channel:
        line += f" · announced in <#{feed.announce_channel}>"
    if feed.last_error:
        line += f"\nlast error: {_escaped(feed.last_error[:300])}"
    return line


def feed_list(feeds: Sequence[Feed], *, limit: int = MESSAGE_LIMIT) -> str:
    if not feeds:
        return "No feeds yet. An admin can follow one with `/feed add url:`."
    return _fits([f"**Feeds followed** ({len(feeds)}):", *map(feed_line, feeds)], 0, limit)


def followed(feed: Feed, minutes: float) -> str:
    where = (
        f"; new titles will be posted in <#{feed.announce_channel}>"
        if feed.announce_channel
        else ""
    )
    return (
        f"Following **{_escaped(feed.name)}** (feed {feed.id}); new entries are read every "
        f"{minutes:g} minutes{where}."
    )


def unfollowed(feed: Feed) -> str:
    return f"No longer following **{_escaped(feed.name)}** (feed {feed.id}); its articles stay."


def choices(feeds: Sequence[Feed], current: str) -> list[tuple[str, str]]:
    """Autocomplete: (name, value) for the feeds whose id, title or URL holds `current`."""
    wanted = current.strip().lower()
    found = [
        f
        for f in feeds
        if not wanted or wanted in f.name.lower() or wanted in f.url.lower() or wanted == str(f.id)
    ]
    return [(f"{f.id} · {f.name}"[:CHOICE_NAME_LIMIT], str(f.id)) for f in found[:CHOICE_LIMIT]]
