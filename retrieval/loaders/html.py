"""HTML pages: main text and metadata extracted with trafilatura, dates with htmldate.

trafilatura's own metadata date is a day only; htmldate (the library trafilatura uses for
it) reads the page's markup again for the time and UTC offset too (`article:published_time`,
JSON-LD `datePublished`, `<time datetime>`), and for when it was last modified (JSON-LD
`dateModified`, `article:modified_time`). Both are given the parsed tree, never a url: no
network.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import trafilatura
from htmldate import find_date
from trafilatura.utils import load_html

from retrieval.dates import take_dates
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.scrape import drop_boilerplate
from retrieval.loaders.textbody import trim_blank_lines

log = logging.getLogger(__name__)

# What htmldate is asked for: the time and offset are kept when the page gives them.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

_LIST_ITEM_PREFIXES = ("- ", "* ", "• ")


@dataclass(frozen=True)
class _Extracted:
    text: str
    title: str | None
    url: str | None
    date: str | None
    author: str | None
    sitename: str | None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _extract(html: bytes | str, url: str | None, name: str) -> _Extracted:
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
        )
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        # trafilatura catches most parser errors itself; these escape on broken documents.
        log.warning("trafilatura failed on %s: %r", name, exc)
        raise BadArticleError(f"{name}: no article text could be extracted from the HTML") from None
    text = _clean(getattr(doc, "text", None)) if doc is not None else None
    if doc is None or text is None:
        raise BadArticleError(f"{name}: no article text could be extracted from the HTML")
    return _Extracted(
        text=text,
        title=_clean(getattr(doc, "title", None)),
        url=_clean(getattr(doc, "url", None)),
        date=_clean(getattr(doc, "date", None)),
        author=_clean(getattr(doc, "author", None)),
        sitename=_clean(getattr(doc, "sitename", None)),
    )


def _markup_date(tree: object, *, original: bool, name: str) -> str | None:
    """htmldate's date from the page's markup (meta tags, JSON-LD, <time>), not its prose:
    the text heuristics guess, and trafilatura's date already falls back on them."""
    try:
        found = find_date(
            tree,  # an lxml tree from load_html: htmldate fetches a str that looks like a url
            extensive_search=False,
            original_date=original,
            outputformat=_DATE_FORMAT,
        )
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        log.warning("htmldate failed on %s: %r", name, exc)
        return None
    return found if isinstance(found, str) else None


def page_dates(
    html: bytes | str, *, name: str, fallback: str | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(published, updated) named by the page; `fallback` (trafilatura's day) when its
    markup gives no publication date."""
    tree = load_html(html)
    meta: dict[str, str] = {}
    if tree is not None:
        for key, original in (("published", True), ("updated", False)):
            value = _markup_date(tree, original=original, name=name)
            if value:
                meta[key] = value
    if "published" not in meta and fallback:
        meta["published"] = fallback
    return take_dates(meta, where=name)


def _paragraphs(lines: list[str]) -> str:
    """Extracted lines as paragraphs split by blank lines; list items stay together."""
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if out and line.startswith(_LIST_ITEM_PREFIXES) and out[-1].startswith(_LIST_ITEM_PREFIXES):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return "\n\n".join(out)


def article_from_html(
    html: bytes | str,
    *,
    name: str,
    article_id: str,
    fallback_title: str,
    url: str | None = None,
    path: str | None = None,
) -> Article:
    """The main text of a page; ``url`` (where it was fetched from) wins over the page's own.

    trafilatura leaves what a page without telling markup sets between its paragraphs (share
    bars, "Advertisement", "Related: …", newsletter and cookie lines); those lines go by the
    rules plain-text scrapes are cleaned by (loaders/scrape.py), every other line verbatim.
    """
    found = _extract(html, url, name)
    lines = found.text.replace("\r\n", "\n").split("\n")
    title = found.title
    if lines and title is not None and lines[0].strip() == title:
        lines = lines[1:]  # the page's <h1> repeats the title
    text = trim_blank_lines(_paragraphs(drop_boilerplate(lines)))
    if not text:
        raise BadArticleError(f"{name}: no article text could be extracted from the HTML")
    published, updated = page_dates(html, name=name, fallback=found.date)
    return Article(
        id=article_id,
        title=title or fallback_title,
        text=text,
        url=url or found.url,
        published=published,
        updated=updated,
        source=found.sitename,
        author=found.author,
        path=path,
    )
