"""One poll of one feed, and subscribing to one: the feed's HTTP answer, its entries, the new
ones into articles, the articles into the collection, the state into the feed store.

Everything slow runs off the event loop: HTTP is async, parsing, SQLite and indexing run in
threads. Which collection a feed feeds is the caller's business (`Target`): the CLI hands the
shared collection, the bot a guild's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from retrieval.collection import add_articles
from retrieval.documents import Article
from retrieval.engine import Engine
from retrieval.errors import FeedError, FetchError, NewsdeskError, NotAFeedError
from retrieval.feeds.entries import EntryRefusedError, EntrySource, entry_article
from retrieval.feeds.http import FeedResponse, get_feed
from retrieval.feeds.parsing import (
    FEED_TYPES,
    HTML_TYPES,
    FeedEntry,
    ParsedFeed,
    discover_feeds,
    parse_feed,
)
from retrieval.feeds.schedule import Schedule
from retrieval.feeds.store import SHARED, EntryOutcome, Feed, FeedStore, PollResult, SeenEntry
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)

FEEDS_FOLDER = "feeds"  # feed articles are saved in <articles_dir>/feeds/
_TEXT_TYPES = frozenset({"text/plain", "application/octet-stream", ""})


@dataclass(frozen=True)
class Target:
    """The collection a feed's articles go into."""

    engine: Engine
    settings: RetrievalSettings


TargetFor = Callable[[str], Awaitable[Target]]  # collection key -> its engine and folders


@dataclass
class PollReport:
    feed: Feed
    added: list[Article] = field(default_factory=list)
    updated: list[Article] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "title: why" per entry not made an article
    error: str | None = None  # the poll failed as a whole
    problem: str | None = None  # the feed was read only in part (malformed)
    not_modified: bool = False
    waiting: int = 0  # new entries left for the next poll (the per-poll cap)
    unsubscribed: bool = False  # 410 Gone
    disabled: bool = False

    @property
    def new(self) -> list[Article]:
        return self.added

    def summary(self) -> str:
        name = self.feed.name
        if self.unsubscribed:
            return f"{name}: the feed is gone (HTTP 410); unsubscribed"
        if self.error is not None:
            tail = "; disabled after repeated failures" if self.disabled else ""
            return f"{name}: {self.error}{tail}"
        if self.not_modified:
            return f"{name}: not modified"
        parts = [f"{len(self.added)} new"]
        if self.updated:
            parts.append(f"{len(self.updated)} updated")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.waiting:
            parts.append(f"{self.waiting} left for the next poll")
        text = f"{name}: " + ", ".join(parts)
        return text + (f" ({self.problem})" if self.problem else "")


class FeedPoller:
    def __init__(
        self,
        store: FeedStore,
        settings: RetrievalSettings,
        target_for: TargetFor,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.target_for = target_for
        self.schedule = Schedule(settings.feed_poll_minutes * 60.0, rng or random.Random())
        self._polling: dict[int, asyncio.Lock] = {}

    # -- subscribing ---------------------------------------------------------------------------

    async def subscribe(
        self,
        url: str,
        *,
        collection: str = SHARED,
        announce_channel: int | None = None,
        added_by: str | None = None,
    ) -> Feed:
        """Check that ``url`` is a feed (or a page naming one, or a news sitemap) and store the
        subscription, due at once. FeedError / FetchError say why not."""
        response = await self._get(url)
        if response.status != 200:
            raise FeedError(f"{_host(url)} answered HTTP {response.status}")
        try:
            parsed = await self._parse(response, url)
        except NotAFeedError:
            if not _is_html(response):
                raise
            found = await asyncio.to_thread(discover_feeds, response.body, response.url)
            if not found:
                raise NotAFeedError(
                    f'{_host(url)} is a web page that names no feed (no <link rel="alternate">'
                    " to RSS, Atom or JSON Feed); give the feed's own URL"
                ) from None
            url, response, parsed = await self._first_feed(found)
        feed_url = response.permanent_url or url  # a temporary redirect is not followed for good
        return await asyncio.to_thread(
            self.store.add,
            feed_url,
            collection=collection,
            title=parsed.title,
            kind=parsed.kind,
            site_url=parsed.site_url,
            announce_channel=announce_channel,
            added_by=added_by,
        )

    async def _first_feed(self, urls: Sequence[str]) -> tuple[str, FeedResponse, ParsedFeed]:
        problems: list[str] = []
        for candidate in urls[:5]:
            try:
                response = await self._get(candidate)
                if response.status == 200:
                    return candidate, response, await self._parse(response, candidate)
                problems.append(f"{candidate} answered HTTP {response.status}")
            except (FeedError, FetchError) as exc:
                problems.append(f"{candidate}: {exc}")
        raise FeedError("the page names feeds, but none could be read: " + "; ".join(problems))

    # -- polling -------------------------------------------------------------------------------

    async def poll_due(self, *, now: float | None = None) -> list[PollReport]:
        """Every feed whose time has come and that no other process sharing the feed list
        has claimed, one after the other (each poll's page fetches run side by side:
        `NEWSDESK_FEED_PAGE_FETCHES`)."""
        due = await asyncio.to_thread(self.store.claim_due, now)
        return [await self.poll(feed) for feed in due]

    async def poll(self, feed: Feed) -> PollReport:
        """One poll; never raises for what a feed or its server does (the report says it)."""
        lock = self._polling.setdefault(feed.id, asyncio.Lock())
        async with lock:
            try:
                return await self._poll(feed)
            except NewsdeskError as exc:
                # the collection could not take the articles (a busy or full index): try later
                logger.warning("polling feed %s failed: %s", feed.id, exc)
                return await self._failed(feed, str(exc), retry_after=None)

    async def _poll(self, feed: Feed) -> PollReport:
        try:
            response = await self._get(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        except FetchError as exc:
            return await self._failed(feed, str(exc), retry_after=None)
        now = self.store.clock()
        if response.not_modified:
            await self._record(
                feed, PollResult(now, self.schedule.after_success(now, max_age=response.max_age))
            )
            return PollReport(feed, not_modified=True)
        if response.status == 410:
            await asyncio.to_thread(self.store.remove, feed.id, collection=feed.collection)
            logger.info("feed %s (%s) is gone (HTTP 410): unsubscribed", feed.id, feed.url)
            return PollReport(feed, unsubscribed=True)
        if response.status != 200:
            reason = f"{_host(feed.url)} answered HTTP {response.status}"
            if response.status == 429 and response.retry_after is not None:
                reason += f" (retry after {response.retry_after:g} s)"
            return await self._failed(feed, reason, retry_after=response.retry_after)
        try:
            parsed = await self._parse(response, feed.url)
        except (FeedError, FetchError) as exc:
            return await self._failed(feed, str(exc), retry_after=None)
        return await self._take_entries(feed, response, parsed)

    async def _take_entries(
        self, feed: Feed, response: FeedResponse, parsed: ParsedFeed
    ) -> PollReport:
        report = PollReport(feed, problem=parsed.problem)
        entries = _unique(parsed.entries)
        seen = await asyncio.to_thread(self.store.seen, feed.id, entries)
        wanted = [(e, seen.get(e.key)) for e in entries if _wanted(e, seen.get(e.key))]
        cap = self.settings.feed_max_entries_per_poll
        report.waiting = max(0, len(wanted) - cap)
        wanted = wanted[:cap]
        outcomes: list[EntryOutcome] = []
        if wanted:
            target = await self.target_for(feed.collection)
            source = EntrySource(feed.id, parsed.title or feed.title)
            made = await self._make_articles(wanted, source, target.settings)
            handed = _distinct_ids([a for _, _, a, _ in made if a is not None])
            stored: dict[str, tuple[str, str]] = {}  # handed id -> (status, stored id)
            status: str
            if handed:
                outcome = await asyncio.to_thread(
                    add_articles, target.engine, target.settings, handed, subfolder=FEEDS_FOLDER
                )
                same_as = dict(outcome.report.duplicates)
                for given, saved in zip(handed, outcome.articles, strict=True):
                    status = outcome.status(saved)
                    stored[given.id] = (status, same_as.get(saved.id, saved.id))
                    if status == "added":
                        report.added.append(saved)
                    elif status == "updated":
                        report.updated.append(saved)
            for entry, record, article, error in made:
                key = record.key if record is not None else entry.key
                if article is None:
                    refused = isinstance(error, EntryRefusedError)
                    report.failed.append(f"{entry.title}: {error}")
                    outcomes.append(
                        EntryOutcome(entry, key, None, str(error), final=refused, status="failed")
                    )
                    continue
                status, stored_id = stored[article.id]
                outcomes.append(EntryOutcome(entry, key, stored_id, status=status))
            await asyncio.to_thread(self.store.record_entries, feed.id, outcomes)
        now = self.store.clock()
        problems = [p for p in (parsed.problem, _failed_summary(report.failed)) if p]
        await self._record(
            feed,
            PollResult(
                now,
                self.schedule.after_success(now, ttl=parsed.ttl_seconds, max_age=response.max_age),
                error="; ".join(problems) or None,
                title=parsed.title,
                kind=parsed.kind,
                site_url=parsed.site_url,
                etag=response.etag,
                last_modified=response.last_modified,
                keep_validators=report.waiting == 0,
                new_url=response.permanent_url,
            ),
        )
        return report

    async def _make_articles(
        self,
        wanted: Sequence[tuple[FeedEntry, SeenEntry | None]],
        source: EntrySource,
        settings: RetrievalSettings,
    ) -> list[tuple[FeedEntry, SeenEntry | None, Article | None, FetchError | None]]:
        gate = asyncio.Semaphore(self.settings.feed_page_fetches)

        async def make(
            entry: FeedEntry, record: SeenEntry | None
        ) -> tuple[FeedEntry, SeenEntry | None, Article | None, FetchError | None]:
            async with gate:
                try:
                    article, _origin = await entry_article(entry, source, settings)
                except FetchError as exc:
                    return entry, record, None, exc
            return entry, record, article, None

        return list(await asyncio.gather(*(make(e, r) for e, r in wanted)))

    async def _failed(self, feed: Feed, reason: str, *, retry_after: float | None) -> PollReport:
        now = self.store.clock()
        failures = feed.failures + 1
        disable = failures >= self.settings.feed_max_failures
        if disable:
            logger.warning(
                "feed %s (%s) disabled after %d failed polls: %s",
                feed.id,
                feed.url,
                failures,
                reason,
            )
        await self._record(
            feed,
            PollResult(
                now,
                self.schedule.after_failure(now, failures, retry_after=retry_after),
                error=reason,
                failed=True,
                disable=disable,
            ),
        )
        return PollReport(feed, error=reason, disabled=disable)

    async def _record(self, feed: Feed, result: PollResult) -> None:
        await asyncio.to_thread(self.store.record_poll, feed.id, result)

    async def _get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FeedResponse:
        return await get_feed(
            url,
            timeout=self.settings.fetch_timeout_seconds,
            max_bytes=self.settings.feed_max_bytes,
            allow_private=self.settings.allow_private_urls,
            etag=etag,
            last_modified=last_modified,
        )

    async def _parse(self, response: FeedResponse, url: str) -> ParsedFeed:
        kind = response.content_type
        if kind not in FEED_TYPES | HTML_TYPES | _TEXT_TYPES and "xml" not in kind:
            raise FeedError(f"{_host(url)} answered {kind}, not a feed")
        return await asyncio.to_thread(
            parse_feed, response.body, url=response.url, content_type=kind, name=_host(url)
        )


def _wanted(entry: FeedEntry, record: SeenEntry | None) -> bool:
    """New, changed since it was read (a later date, or other text under the same id), or not
    yet made an article (and not given up on)."""
    if record is None:
        return True
    if record.article_id is None:
        return not record.final
    if record.key == entry.key and record.content_hash != entry.content_hash:
        return True
    changed = entry.last_changed
    if changed is None or record.changed_at is None:
        return False
    try:
        return changed > dt.datetime.fromisoformat(record.changed_at)
    except ValueError:
        return False


def _unique(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """One entry per key and per link (a feed may list a story twice)."""
    seen: set[str] = set()
    out: list[FeedEntry] = []
    for entry in entries:
        keys = {entry.key, *([entry.url] if entry.url else [])}
        if keys & seen:
            continue
        seen |= keys
        out.append(entry)
    return out


def _distinct_ids(articles: Sequence[Article]) -> list[Article]:
    found: dict[str, Article] = {}
    for article in articles:
        found.setdefault(article.id, article)
    return list(found.values())


def _failed_summary(failed: list[str]) -> str | None:
    if not failed:
        return None
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"{len(failed)} entries could not be read: {first}{more}"


def _is_html(response: FeedResponse) -> bool:
    head = response.body[:2048].lstrip().lower()
    return response.content_type in HTML_TYPES or head.startswith((b"<!doctype html", b"<html"))


def _host(url: str) -> str:
    from yarl import URL

    try:
        return URL(url).host or url
    except (ValueError, TypeError):
        return url
