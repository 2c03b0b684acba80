"""Articles from text a user pasted or typed (the bot's and CLI's 'add' commands)."""

from __future__ import annotations

from retrieval.dates import take_dates
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.datelines import body_dates
from retrieval.loaders.decoding import is_valid_unicode
from retrieval.loaders.frontmatter import take_leading_heading
from retrieval.loaders.ids import id_from_title
from retrieval.loaders.scrape import clean_scrape
from retrieval.loaders.textbody import trim_blank_lines

_CORE_META = ("published", "source", "author")
_MAX_DERIVED_TITLE_CHARS = 80


def _derived_title(text: str) -> str:
    """The first line, cut at a word boundary: better than 'Untitled' in a citation."""
    first = text.split("\n", 1)[0].strip()
    if len(first) <= _MAX_DERIVED_TITLE_CHARS:
        return first
    cut = first[:_MAX_DERIVED_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def article_from_text(
    text: str,
    *,
    title: str | None,
    url: str | None = None,
    article_id: str | None = None,
    **meta: str | None,
) -> Article:
    """An article from pasted text, kept verbatim apart from share/nav lines of a page scrape.

    Without a title, a leading '# heading', a scrape's headline or the first line is used.
    ``meta`` may hold published/source/author; other keys (e.g. added_by) go to ``extra``.
    """
    body = text.replace("\r\n", "\n")
    if not body.strip():
        raise BadArticleError("the text is empty")
    values = [body, title or "", url or "", *(v for v in meta.values() if v)]
    if not all(is_valid_unicode(v) for v in values):
        raise BadArticleError("the text holds characters that are not valid Unicode")
    given = {k: v for k, v in meta.items() if v is not None}
    published, updated = take_dates(given, where="the pasted text")
    if published is None:  # dates given with the text win over its byline's
        published, updated = body_dates(body, where="the pasted text")
    title = title.strip() if title else None
    if title is None:
        title, body = take_leading_heading(body)
    cleaned = clean_scrape(body)
    if cleaned is not None:
        body = cleaned.text
        title = title or cleaned.title
    body = trim_blank_lines(body)
    if not body:
        raise BadArticleError("the text is empty")
    title = title or _derived_title(body)
    extra = {k: v for k, v in given.items() if k not in _CORE_META}
    return Article(
        id=article_id or id_from_title(title),
        title=title,
        text=body,
        url=url,
        published=published,
        updated=updated,
        source=meta.get("source"),
        author=meta.get("author"),
        extra=extra,
    )
