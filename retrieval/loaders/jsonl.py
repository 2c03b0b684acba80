"""Bulk import: one JSON article per line, {"id", "title", "text", "url"?, ...}."""

from __future__ import annotations

import json
import logging

from retrieval.dates import take_dates
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.decoding import is_valid_unicode
from retrieval.loaders.ids import humanize, id_from_title
from retrieval.loaders.textbody import trim_blank_lines

log = logging.getLogger(__name__)

_FIELDS = ("url", "source", "author")
_CONSUMED = frozenset({"id", "title", "text", *_FIELDS})


def _optional_str(record: dict[str, object], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _article_from_record(record: object, *, path: str | None, where: str) -> Article:
    """One line's article; ValueError with the reason when the line is unusable."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if not is_valid_unicode(json.dumps(record, ensure_ascii=False)):
        raise ValueError("a \\u escape that is not a character (a lone surrogate)")
    raw_text = record.get("text")
    if not isinstance(raw_text, str) or not raw_text.strip():
        raise ValueError('no "text"')
    title = _optional_str(record, "title")
    article_id = _optional_str(record, "id")
    if article_id is None:
        if title is None:
            raise ValueError('neither "id" nor "title"')
        article_id = id_from_title(title)
    extra = {
        str(key): value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for key, value in record.items()
        if key not in _CONSUMED and value is not None
    }
    published, updated = take_dates(extra, where=f"{where} id {article_id!r}")
    return Article(
        id=article_id,
        title=title or humanize(article_id),
        text=trim_blank_lines(raw_text.replace("\r\n", "\n")),
        url=_optional_str(record, "url"),
        published=published,
        updated=updated,
        source=_optional_str(record, "source"),
        author=_optional_str(record, "author"),
        path=path,
        extra=extra,
    )


def articles_from_jsonl(text: str, *, name: str, path: str | None) -> list[Article]:
    """The good lines' articles; bad lines are logged with their number, not fatal."""
    articles: list[Article] = []
    seen: set[str] = set()
    bad = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            article = _article_from_record(
                json.loads(line), path=path, where=f"{name} line {lineno}"
            )
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            bad += 1
            log.warning("%s line %d skipped: %s", name, lineno, _short_reason(exc))
            continue
        if article.id in seen:
            bad += 1
            log.warning("%s line %d skipped: id %r already used above", name, lineno, article.id)
            continue
        seen.add(article.id)
        articles.append(article)
    if not articles:
        raise BadArticleError(f"{name} has no usable lines ({bad} bad)")
    return articles


def _short_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    return str(exc)
