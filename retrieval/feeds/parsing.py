"""A feed's bytes into entries: feedparser for RSS and Atom, the JSON Feed 1.x format with the
standard library, Google news sitemaps with lxml. Never XML code of our own.

Entity declarations are refused before any parser sees the bytes (defusedxml): billion
laughs, quadratic blowup and external entities all need them, and no real feed does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin

from retrieval.dates import parse_date
from retrieval.errors import FeedError, NotAFeedError

logger = logging.getLogger(__name__)

FeedKind = Literal["rss", "atom", "json", "sitemap"]
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
    }
)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ALTERNATE_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
)
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_BLOCKS = frozenset(
    "p div li h1 h2 h3 h4 h5 h6 blockquote pre tr br section article figcaption dd dt".split()
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as the feed tells it."""

    key: str  # the feed's id for it (guid, id), else its link, else its text's hash
    url: str | None
    title: str
    published: dt.datetime | None
    updated: dt.datetime | None
    text: str  # the entry's own text (content, else summary), as plain paragraphs

    @property
    def content_hash(self) -> str:
        """What the entry says, apart from its ids: how a feed that renames every GUID on each
        poll is still recognised."""
        body = "\x1f".join([self.title.strip().lower(), " ".join(self.text.split()).lower()])
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    @property
    def last_changed(self) -> dt.datetime | None:
        return self.updated or self.published


@dataclass(frozen=True)
class ParsedFeed:
    kind: FeedKind
    title: str | None
    site_url: str | None
    ttl_seconds: float | None  # how long the feed asks to be left alone (RSS <ttl>)
    entries: list[FeedEntry]
    problem: str | None = None  # what could not be read (malformed XML), when entries still were


def refuse_entities(body: bytes, name: str) -> None:
    """FeedError if the document declares XML entities (XML bombs need them; feeds do not)."""
    if b"<!ENTITY" not in body and b"<!entity" not in body:
        return  # no declaration at all: nothing to expand (the common case, and cheap)
    import defusedxml.ElementTree as safe_tree
    from defusedxml import DefusedXmlException

    try:
        safe_tree.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FeedError(
            f"{name} declares XML entities, which feeds never need; refused (XML bomb guard)"
        ) from None
    except safe_tree.ParseError:
        return  # malformed: feedparser's lenient parser reads what it can, expanding nothing


def looks_like_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type or body.lstrip()[:1] == b"{"


def parse_feed(body: bytes, *, url: str, content_type: str, name: str) -> ParsedFeed:
    """The feed in ``body``; NotAFeedError for an HTML page (see `discover_feeds`) or for
    anything else, FeedError for a feed that cannot be read at all. CPU-bound: run it in a
    thread."""
    if looks_like_json(body, content_type):
        return _parse_json_feed(body, url=url, name=name)
    refuse_entities(body, name)
    if _is_sitemap(body):
        return _parse_sitemap(body, url=url, name=name)
    import feedparser

    parsed = feedparser.parse(
        body,
        response_headers={
            "content-location": url,
            "content-type": content_type or "application/xml",
        },
    )
    version = str(parsed.get("version") or "")
    if not version:
        if content_type in HTML_TYPES or _looks_like_html(body):
            raise NotAFeedError(f"{name} is a web page, not a feed")
        reason = parsed.get("bozo_exception")
        detail = f" ({_short(reason)})" if reason else ""
        raise NotAFeedError(f"{name} is not an RSS, Atom or JSON feed{detail}")
    feed = parsed.feed
    entries = [e for e in (_feedparser_entry(item, url) for item in parsed.entries) if e]
    problem = None
    # A charset or content type other than declared is not a problem the feed has for readers.
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), benign):
        problem = f"malformed feed ({_short(parsed.get('bozo_exception'))}); read what parsed"
    return ParsedFeed(
        kind="atom" if version.startswith("atom") else "rss",
        title=_clean(feed.get("title")),
        site_url=_clean(feed.get("link")),
        ttl_seconds=_ttl(feed.get("ttl")),
        entries=entries,
        problem=problem,
    )


def _short(reason: object) -> str:
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return text[:120]


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _ttl(value: object) -> float | None:
    try:
        minutes = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if minutes > 0 else None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def _struct_date(value: object) -> dt.datetime | None:
    if isinstance(value, time.struct_time):
        try:
            return dt.datetime(*value[:6], tzinfo=dt.UTC)
        except ValueError:
            return None
    return None


def _feedparser_entry(item: Any, base: str) -> FeedEntry | None:
    link = _link(item.get("link"), base)
    title = _clean(item.get("title")) or ""
    contents = item.get("content") or []
    html = ""
    if contents:
        html = max((str(c.get("value") or "") for c in contents), key=len)
    summary = str(item.get("summary") or "")
    text = html_to_text(html if len(html) >= len(summary) else summary)
    if not (link or title or text):
        return None
    # dict.get, not item.get: feedparser's own get maps a missing `updated` to `published`
    # (with a DeprecationWarning), which would make every entry look updated.
    published = _struct_date(dict.get(item, "published_parsed")) or _struct_date(
        dict.get(item, "created_parsed")
    )
    updated = _struct_date(dict.get(item, "updated_parsed"))
    return FeedEntry(
        key=_clean(item.get("id")) or link or _text_key(title, text),
        url=link,
        title=title or (link or "Untitled"),
        published=published or updated,
        updated=updated if updated is not None and published is not None else None,
        text=text,
    )


def _text_key(title: str, text: str) -> str:
    return "sha256:" + hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()


def _link(value: object, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return urljoin(base, value.strip())


def html_to_text(html: str) -> str:
    """An entry's HTML (or plain text) as paragraphs, blank-line separated (lxml parses)."""
    if not html.strip():
        return ""
    if "<" not in html:
        return _paragraphs(html.split("\n\n"))
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    for bad in root.xpath("//script|//style|//iframe|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
    return _paragraphs(root.text_content().split("\n\n"))


def _paragraphs(parts: list[str]) -> str:
    lines = (_SPACES.sub(" ", " ".join(p.split("\n"))).strip() for p in parts)
    return "\n\n".join(line for line in lines if line)


def _parse_json_feed(body: bytes, *, url: str, name: str) -> ParsedFeed:
    """JSON Feed 1.0 / 1.1 (jsonfeed.org)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotAFeedError(f"{name} is not valid JSON ({_short(exc)})") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not (isinstance(version, str) and "jsonfeed.org" in version):
        raise NotAFeedError(f"{name} is JSON but not a JSON Feed")
    items = data.get("items")
    entries: list[FeedEntry] = []
    skipped = 0
    for item in items if isinstance(items, list) else []:
        entry = _json_entry(item, url) if isinstance(item, dict) else None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    return ParsedFeed(
        kind="json",
        title=_clean(data.get("title")),
        site_url=_clean(data.get("home_page_url")),
        ttl_seconds=None,
        entries=entries,
        problem=f"{skipped} items could not be read" if skipped else None,
    )


def _json_entry(item: dict[str, Any], base: str) -> FeedEntry | None:
    link = _link(item.get("url") or item.get("external_url"), base)
    title = _clean(item.get("title")) or ""
    html = item.get("content_html")
    text = (
        html_to_text(html)
        if isinstance(html, str)
        else html_to_text(str(item.get("content_text") or item.get("summary") or ""))
    )
    if not (link or title or text):
        return None
    published = parse_date(item.get("date_published"))
    updated = parse_date(item.get("date_modified"))
    raw_id = item.get("id")
    key = _clean(str(raw_id)) if raw_id is not None else None
    return FeedEntry(
        key=key or link or _text_key(title, text),
        url=link,
        title=title or (link or "Untitled"),
        published=published or updated,
        updated=updated if published is not None else None,
        text=text,
    )


def _is_sitemap(body: bytes) -> bool:
    head = body[:4096]
    return _SITEMAP_NS.encode() in head and (b"<urlset" in head or b"<sitemapindex" in head)


def _parse_sitemap(body: bytes, *, url: str, name: str) -> ParsedFeed:
    """A news sitemap: each <url> with its <news:news> title and publication date."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"{name} is a sitemap that cannot be read ({_short(exc)})") from None
    if root is None:
        raise FeedError(f"{name} is a sitemap that cannot be read")
    ns = {"s": _SITEMAP_NS, "n": _NEWS_NS}
    if etree.QName(root).localname == "sitemapindex":
        raise NotAFeedError(
            f"{name} is a sitemap index; subscribe to one of the news sitemaps it lists"
        )
    entries: list[FeedEntry] = []
    for node in root.iterfind("s:url", ns):
        loc = _clean(node.findtext("s:loc", namespaces=ns))
        link = _link(loc, url)
        if link is None:
            continue
        title = _clean(node.findtext("n:news/n:title", namespaces=ns)) or ""
        published = parse_date(node.findtext("n:news/n:publication_date", namespaces=ns))
        modified = parse_date(node.findtext("s:lastmod", namespaces=ns))
        updated = modified if published is not None and modified and modified > published else None
        entries.append(
            FeedEntry(
                key=link,
                url=link,
                title=title or link,
                published=published or modified,
                updated=updated,
                text="",
            )
        )
    title_node = root.find("s:url/n:news/n:publication/n:name", ns)
    problem = f"malformed sitemap ({_short(parser.error_log[0])})" if parser.error_log else None
    return ParsedFeed(
        kind="sitemap",
        title=_clean(title_node.text) if title_node is not None else None,
        site_url=None,
        ttl_seconds=None,
        entries=entries,
        problem=problem,
    )


def discover_feeds(html: bytes | str, base_url: str) -> list[str]:
    """The feeds a page names with <link rel="alternate" type="application/rss+xml" ...>, in
    page order (lxml parses the page)."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    found: list[str] = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = link.get("href")
        if "alternate" in rel and kind in _ALTERNATE_TYPES and href:
            absolute = urljoin(base_url, href.strip())
            if absolute not in found:
                found.append(absolute)
    return found
