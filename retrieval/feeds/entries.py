"""An entry into an article: its linked page when that holds the story, else the entry's own
text. The page goes through the same fetcher as `/add` (private addresses refused, size and
time capped); a page that fails, or is a stub next to what the feed itself carries (a
teaser, a paywall, a consent wall), gives way to the entry's text."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from retrieval.documents import Article
from retrieval.errors import FetchError
from retrieval.feeds.parsing import FeedEntry
from retrieval.loaders.fetch import check_url, fetch_article
from retrieval.loaders.ids import id_from_url, slugify
from retrieval.loaders.textbody import word_count
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)

STUB_WORDS = 60  # a page with fewer words than this is no article...
STUB_SHARE = 0.8  # ...and neither is one shorter than this share of the entry's own text
MIN_ENTRY_WORDS = 25  # an entry's own text shorter than this is only a teaser


class EntryRefusedError(FetchError):
    """The entry's link may never be fetched (a private address, not http): not retried."""


@dataclass(frozen=True)
class EntrySource:
    """Who the feed is, as its articles record it (`source` and a `feed` front-matter key)."""

    feed_id: int
    title: str | None


def entry_id(entry: FeedEntry) -> str:
    if entry.url:
        return id_from_url(entry.url)
    digest = hashlib.sha256(entry.key.encode("utf-8")).hexdigest()[:10]
    return f"{slugify(entry.title)[:60] or 'entry'}-{digest}"


async def entry_article(
    entry: FeedEntry, source: EntrySource, settings: RetrievalSettings
) -> tuple[Article, str]:
    """The article and where its text came from ("page" or "feed"); FetchError when there is
    neither a page nor enough text in the entry (EntryRefusedError for a forbidden link)."""
    page: Article | None = None
    problem: str | None = None
    if entry.url:
        try:
            check_url(entry.url, allow_private=settings.allow_private_urls)
        except FetchError as exc:
            raise EntryRefusedError(str(exc)) from None
        try:
            page = await fetch_article(
                entry.url,
                timeout=settings.fetch_timeout_seconds,
                max_bytes=settings.fetch_max_bytes,
                allow_private=settings.allow_private_urls,
            )
        except FetchError as exc:
            problem = str(exc)
    own_words = word_count(entry.text)
    page_words = word_count(page.text) if page is not None else 0
    use_page = (
        page is not None
        and (page_words >= STUB_WORDS or own_words < MIN_ENTRY_WORDS)
        and page_words >= STUB_SHARE * own_words
    )
    if page is not None and use_page:
        return _article(entry, source, page.text, page), "page"
    if own_words >= MIN_ENTRY_WORDS or (entry.text and page is None and problem is None):
        return _article(entry, source, entry.text, page), "feed"
    if page is not None and page_words:
        return _article(entry, source, page.text, page), "page"
    raise FetchError(problem or "the entry has no link and no text of its own")


def _article(entry: FeedEntry, source: EntrySource, text: str, page: Article | None) -> Article:
    extra = {"feed": str(source.feed_id)}
    return Article(
        id=entry_id(entry),
        title=entry.title or (page.title if page is not None else "Untitled"),
        text=text,
        url=entry.url,
        published=entry.published or (page.published if page is not None else None),
        updated=entry.updated or (page.updated if page is not None else None),
        source=source.title or (page.source if page is not None else None),
        author=page.author if page is not None else None,
        extra=extra,
    )
