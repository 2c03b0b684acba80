"""The words of /feed and of feed announcements: escaped, no previews, within Discord's limits."""

from __future__ import annotations

from bot.discord_app import feed_text
from retrieval.documents import Article
from retrieval.feeds.store import Feed


def _feed(**changes: object) -> Feed:
    values: dict[str, object] = {
        "id": 3,
        "collection": "",
        "url": "https://example.com/rss.xml",
        "title": "Town *News* @everyone",
        "kind": "rss",
        "site_url": None,
        "etag": None,
        "last_modified": None,
        "added_at": 0.0,
        "last_poll_at": 1_800_000_000.0,
        "last_success_at": 1_800_000_000.0,
        "next_poll_at": 1_800_001_800.0,
        "failures": 0,
        "last_error": None,
        "disabled": False,
        "announce_channel": 42,
        "entries": 7,
    }
    values.update(changes)
    return Feed(**values)  # type: ignore[arg-type]


def _article(n: int) -> Article:
    return Article(id=f"a{n}", title=f"Story {n} @here", text="x", url=f"https://example.com/{n}")


def test_an_announcement_links_titles_without_previews_or_pings() -> None:
    text = feed_text.announcement(_feed(), [_article(1), _article(2)])
    assert text.splitlines()[0] == r"**New from Town \*News\* @\u200beveryone** (2):".replace(
        r"\u200b", "\u200b"
    )
    assert "• [Story 1 @\u200bhere](<https://example.com/1>)" in text


def test_a_long_announcement_fits_one_message() -> None:
    text = feed_text.announcement(_feed(), [_article(n) for n in range(500)])
    assert len(text) <= feed_text.MESSAGE_LIMIT
    assert text.endswith("more") and "… and " in text.splitlines()[-1]


def test_the_list_shows_state_errors_and_fits() -> None:
    failing = _feed(id=4, failures=2, last_error="127.0.0.1 answered HTTP 404")
    disabled = _feed(id=5, disabled=True)
    text = feed_text.feed_list([_feed(), failing, disabled])
    assert "`4`" in text and "failing" in text and "last error: 127.0.0.1 answered HTTP 404" in text
    assert "**disabled**" in text and "<t:1800000000:R>" in text
    many = feed_text.feed_list([_feed(id=n, title="T" * 120) for n in range(200)])
    assert len(many) <= feed_text.MESSAGE_LIMIT
    assert "No feeds yet" in feed_text.feed_list([])


def test_choices_filter_and_stay_within_limits() -> None:
    feeds = [_feed(id=n, title=f"Feed {n}") for n in range(40)]
    assert len(feed_text.choices(feeds, "")) == feed_text.CHOICE_LIMIT
    assert feed_text.choices(feeds, "feed 3")[0] == ("3 · Feed 3", "3")
    assert feed_text.choices(feeds, "nothing") == []
