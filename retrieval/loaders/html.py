"""HTML pages: main text and metadata extracted with trafilatura."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trafilatura

from retrieval.dates import article_date
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.textbody import trim_blank_lines

log = logging.getLogger(__name__)

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
    """The main text of a page; ``url`` (where it was fetched from) wins over the page's own."""
    found = _extract(html, url, name)
    lines = found.text.replace("\r\n", "\n").split("\n")
    title = found.title
    if lines and title is not None and lines[0].strip() == title:
        lines = lines[1:]  # the page's <h1> repeats the title
    text = trim_blank_lines(_paragraphs(lines))
    if not text:
        raise BadArticleError(f"{name}: no article text could be extracted from the HTML")
    return Article(
        id=article_id,
        title=title or fallback_title,
        text=text,
        url=url or found.url,
        published=article_date(found.date, field="date", where=name),
        source=found.sitename,
        author=found.author,
        path=path,
    )
