"""When two articles are the same article: one rule for a batch, for the index and for adds.

Two articles are the same when they share a key: the same text once case, spacing and Unicode
form are set aside, or the same URL once the case of its scheme and host, its fragment, a
default port and a trailing slash are. The store keeps both keys of every article (the
`dedup_key` and `url_key` columns), so an add finds a stored copy by the same rule that finds
one in its own batch. Within a batch the same id twice is one article as well; a stored
article with the same id is the one being updated, not a duplicate.

A story that changes is the same article, updated: the same page (its URL) with other text
(`is_update`). Its new text replaces the old one under the same id; a different page with the
same text is still a duplicate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from retrieval.documents import Article, content_hash

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WS = re.compile(r"\s+")


class DuplicateKeys(NamedTuple):
    text: str  # a hash of the normalized text
    url: str | None  # the normalized URL, for an article that has one


def duplicate_keys(article: Article) -> DuplicateKeys:
    return DuplicateKeys(content_hash(normalize_text(article.text)), url_key(article.url))


def same_article(first: Article, second: Article) -> bool:
    """Whether they share a key (their ids aside)."""
    mine, theirs = duplicate_keys(first), duplicate_keys(second)
    return mine.text == theirs.text or (mine.url is not None and mine.url == theirs.url)


def is_update(stored: Article, new: Article) -> bool:
    """Whether `new` is a changed version of `stored`: the same URL, other text."""
    mine, theirs = duplicate_keys(stored), duplicate_keys(new)
    return mine.url is not None and mine.url == theirs.url and mine.text != theirs.text


def other_pages(first: Article, second: Article) -> bool:
    """Both name a URL, and not the same one: two articles, whatever their file names."""
    mine, theirs = url_key(first.url), url_key(second.url)
    return mine is not None and theirs is not None and mine != theirs


def normalize_text(text: str) -> str:
    """Text reduced to what makes two copies the same article (case, spacing, Unicode form)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def url_key(url: str | None) -> str | None:
    return (normalize_url(url) if url else "") or None


def normalize_url(url: str) -> str:
    """Lowercase scheme and host, no fragment, no default port, no trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # a malformed port: compare the URL as written
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username is not None:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def dedupe(articles: Iterable[Article]) -> tuple[list[Article], list[tuple[str, str]]]:
    """The first of each group of the same article is kept; (dropped id, kept id) for the rest."""
    kept: list[Article] = []
    duplicates: list[tuple[str, str]] = []
    owner: dict[tuple[str, str], str] = {}
    for article in articles:
        keys = [("id", article.id)]
        keys += [(kind, key) for kind, key in duplicate_keys(article)._asdict().items() if key]
        first = next((owner[key] for key in keys if key in owner), None)
        if first is not None:
            duplicates.append((article.id, first))
            continue
        kept.append(article)
        for key in keys:
            owner[key] = article.id
    return kept, duplicates
