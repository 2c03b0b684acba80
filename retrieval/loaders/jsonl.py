"""Bulk import: one JSON article per line, {"id", "title", "text", "url"?, ...}."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from retrieval.dates import take_dates
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.decoding import format_size, is_valid_unicode
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


@dataclass
class JsonlFile:
    """A bulk file's articles, the lines left out ((line number, reason)), and the hash of
    its bytes (so a folder sync reports a file's bad lines once, not on every rebuild)."""

    articles: list[Article] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    digest: str = ""


def read_jsonl(handle: BinaryIO, *, name: str, path: str | None, max_bytes: int) -> JsonlFile:
    """The articles of a bulk file, read line by line: memory holds one line (at most
    `max_bytes`, the limit of one article) beside the articles, whatever the file's size.
    Bad or oversized lines are left out with their number and reason, not fatal."""
    result = JsonlFile()
    digest = hashlib.sha256()
    seen: set[str] = set()
    for lineno, line in _capped_lines(handle, max_bytes, digest):
        try:
            if line is None:
                raise ValueError(f"larger than the {format_size(max_bytes)} limit of one article")
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"not UTF-8 (invalid byte at offset {exc.start})") from None
            article = _article_from_record(
                json.loads(text), path=path, where=f"{name} line {lineno}"
            )
            if article.id in seen:
                raise ValueError(f"id {article.id!r} already used above")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            result.bad_lines.append((lineno, _short_reason(exc)))
            continue
        seen.add(article.id)
        result.articles.append(article)
    result.digest = digest.hexdigest()
    if not result.articles:
        raise BadArticleError(f"{name} has no usable lines ({len(result.bad_lines)} bad)")
    return result


def _capped_lines(
    handle: BinaryIO, max_bytes: int, digest: Any
) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) of each line, None for a line longer than `max_bytes` (its rest is read
    and dropped piece by piece, never held whole)."""
    lineno = 0
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        digest.update(line)
        lineno += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(1 << 20)
                digest.update(line)
            yield lineno, None
            continue
        yield lineno, line


def lines_summary(bad_lines: Sequence[tuple[str, int, str]], *, names: bool) -> str:
    """ "1 line skipped: line 3 invalid JSON" (with the file's name before each line when
    `names`), the first few named."""
    count = len(bad_lines)
    shown = [
        f"{name + ' ' if names else ''}line {lineno} {reason.split(' (')[0]}"
        for name, lineno, reason in bad_lines[:_NAMED]
    ]
    more = f"; {count - _NAMED} more" if count > _NAMED else ""
    return f"{count} line{'s' if count != 1 else ''} skipped: " + "; ".join(shown) + more


_NAMED = 3


def _short_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    return str(exc)
