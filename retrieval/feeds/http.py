"""Fetching a feed: a conditional GET behind the same guards as fetching a page.

http(s) only, private addresses refused on every redirect hop (unless allowed), a total time
limit and a size cap enforced while streaming (`loaders/fetch.py` owns those rules). Unlike a
page fetch, the statuses a poller acts on (304, 404, 410, 429) come back as answers, not
errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import re
from dataclasses import dataclass

import aiohttp
from yarl import URL

from retrieval.errors import FetchError
from retrieval.loaders import fetch
from retrieval.loaders.netguard import GuardedResolver

logger = logging.getLogger(__name__)

_HEADERS = {
    "User-Agent": "newsdesk/0.1 (feed reader)",
    "Accept": (
        "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9,"
        " text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
    ),
    "Accept-Encoding": "gzip, deflate",
}
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class FeedResponse:
    status: int
    url: str  # after redirects
    content_type: str
    body: bytes
    etag: str | None
    last_modified: str | None
    max_age: float | None  # Cache-Control max-age, seconds
    retry_after: float | None  # seconds, from Retry-After (429, 503)
    permanent_url: str | None = None  # where a 301/308 moved the feed for good

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _max_age(value: str | None) -> float | None:
    if not value:
        return None
    if "no-store" in value.lower() or "no-cache" in value.lower():
        return None
    found = _MAX_AGE.search(value)
    return float(found.group(1)) if found else None


async def _get(
    session: aiohttp.ClientSession,
    url: URL,
    *,
    headers: dict[str, str],
    max_bytes: int,
    allow_private: bool,
) -> FeedResponse:
    current = url
    moved: str | None = None
    permanent_so_far = True
    for _hop in range(fetch.MAX_REDIRECTS + 1):
        host = current.raw_host
        async with session.get(current, allow_redirects=False, headers=headers) as response:
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"{host} answered a redirect without a target")
                try:
                    target = current.join(URL(location))
                except (ValueError, TypeError):
                    raise FetchError(f"{host} redirected to an invalid URL") from None
                current = fetch.check_url(target, allow_private=allow_private)
                permanent_so_far = permanent_so_far and response.status in (301, 308)
                moved = str(current) if permanent_so_far else None
                continue
            body = b""
            if 200 <= response.status < 300:
                body = await fetch.read_capped(response, max_bytes, what="feed")
            return FeedResponse(
                status=response.status,
                url=str(current),
                content_type=response.content_type.lower(),
                body=body,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                max_age=_max_age(response.headers.get("Cache-Control")),
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                permanent_url=moved,
            )
    raise FetchError(f"too many redirects (more than {fetch.MAX_REDIRECTS})")


async def get_feed(
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109  (bounds DNS, every hop and the body as a whole)
    max_bytes: int,
    allow_private: bool,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedResponse:
    """One conditional GET of ``url``; FetchError with a short reason when it cannot be had."""
    checked = fetch.check_url(url, allow_private=allow_private)
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private), use_dns_cache=False, force_close=True
    )
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(
                connector=connector, headers=_HEADERS, trust_env=False
            ) as session,
        ):
            return await _get(
                session, checked, headers=headers, max_bytes=max_bytes, allow_private=allow_private
            )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise fetch.fetch_failure(exc, host=checked.raw_host, timeout=timeout, url=url) from None
    finally:
        await connector.close()
