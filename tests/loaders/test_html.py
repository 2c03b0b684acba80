"""HTML files: main text and metadata via trafilatura; hostile markup is refused, not fatal."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest

from retrieval.errors import BadArticleError
from retrieval.loaders import load_file

from .helpers import write

PAGE = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Storm floods coast | The Desk</title>
<meta property="og:title" content="Storm floods coastal towns">
<meta name="author" content="Jane Doe">
<meta property="og:site_name" content="The Desk">
<meta property="article:published_time" content="2024-03-01T08:00:00Z">
<link rel="canonical" href="https://example.com/news/storm-floods">
</head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<article>
<h1>Storm floods coastal towns</h1>
<p>Heavy rain flooded dozens of coastal towns on Sunday, forcing thousands of people to leave
their homes as rivers burst their banks.</p>
<p>Officials said the water would recede by Wednesday if the rain stopped, but warned that more
storms were expected later in the week.</p>
<ul><li>Roads closed: 42</li><li>Schools shut: 17</li></ul>
</article>
<footer>Share this article · Cookie settings</footer>
</body></html>
"""


def test_html_page_text_and_metadata(root: Path) -> None:
    [article] = load_file(write(root, "news/storm.html", PAGE), root=root, max_bytes=1_000_000)
    assert article.title == "Storm floods coastal towns"
    assert article.url == "https://example.com/news/storm-floods"
    assert article.published == dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert article.updated is None
    assert article.author == "Jane Doe"
    assert article.source == "The Desk"
    assert article.id == "news/storm"
    assert article.text.startswith("Heavy rain flooded dozens of coastal towns on Sunday")
    assert "Officials said the water would recede" in article.text
    assert "\n\n" in article.text  # paragraphs stay apart for chunking
    assert "Share this article" not in article.text
    assert "Home" not in article.text


def _page(head: str, body: str = "") -> str:
    return PAGE.replace(
        '<meta property="article:published_time" content="2024-03-01T08:00:00Z">', head
    ).replace("<article>", "<article>" + body)


EST = dt.timezone(dt.timedelta(hours=-5))


def test_json_ld_gives_published_and_updated_with_their_offset(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page's dates are read without the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    ld = (
        '<script type="application/ld+json">{"@context": "https://schema.org", '
        '"@type": "NewsArticle", "datePublished": "2015-12-15T15:45:00-05:00", '
        '"dateModified": "2015-12-16T09:10:00-05:00"}</script>'
    )
    [article] = load_file(write(root, "ld.html", _page(ld)), root=root, max_bytes=1_000_000)
    assert article.published == dt.datetime(2015, 12, 15, 15, 45, tzinfo=EST)
    assert article.published is not None and article.published.utcoffset() == EST.utcoffset(None)
    assert article.updated == dt.datetime(2015, 12, 16, 9, 10, tzinfo=EST)


def test_meta_modified_time_is_the_update(root: Path) -> None:
    head = (
        '<meta property="article:published_time" content="2024-03-01T08:00:00+01:00">'
        '<meta property="article:modified_time" content="2024-03-02T18:30:00+01:00">'
    )
    [article] = load_file(write(root, "m.html", _page(head)), root=root, max_bytes=1_000_000)
    cet = dt.timezone(dt.timedelta(hours=1))
    assert article.published == dt.datetime(2024, 3, 1, 8, 0, tzinfo=cet)
    assert article.updated == dt.datetime(2024, 3, 2, 18, 30, tzinfo=cet)


def test_a_time_element_dates_the_page(root: Path) -> None:
    body = '<p class="byline"><time datetime="2019-07-04T10:15:00+02:00">4 July</time></p>'
    [article] = load_file(write(root, "t.html", _page("", body)), root=root, max_bytes=1_000_000)
    assert article.published == dt.datetime(
        2019, 7, 4, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )


def test_a_page_without_dates_has_none(root: Path) -> None:
    [article] = load_file(write(root, "n.html", _page("")), root=root, max_bytes=1_000_000)
    assert (article.published, article.updated) == (None, None)


def test_html_without_text_is_refused(root: Path) -> None:
    path = write(root, "blank.htm", "<html><head><title>x</title></head><body></body></html>")
    with pytest.raises(BadArticleError, match=r"blank\.htm: no article text"):
        load_file(path, root=root, max_bytes=1_000_000)


def test_megabytes_of_nested_tags_finish_quickly(root: Path) -> None:
    depth = 400_000
    html = "<html><body>" + "<div>" * depth + "deep text" + "</div>" * depth + "</body></html>"
    path = write(root, "bomb.html", html)
    assert path.stat().st_size > 4_000_000
    started = time.monotonic()
    try:
        load_file(path, root=root, max_bytes=10_000_000)
    except BadArticleError as exc:
        assert "bomb.html" in str(exc)
    assert time.monotonic() - started < 5


def test_megabytes_of_wide_markup_finish_quickly(root: Path) -> None:
    html = "<html><body>" + "<div><p>word word word</p><span>x</span>" * 150_000 + "</body></html>"
    path = write(root, "wide.html", html)
    started = time.monotonic()
    try:
        load_file(path, root=root, max_bytes=10_000_000)
    except BadArticleError as exc:
        assert "wide.html" in str(exc)
    assert time.monotonic() - started < 5
