"""Markdown and plain-text articles, with optional YAML front matter between '---' lines."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

import yaml

from retrieval.dates import take_dates
from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders.datelines import body_dates
from retrieval.loaders.decoding import is_valid_unicode
from retrieval.loaders.scrape import clean_scrape
from retrieval.loaders.textbody import trim_blank_lines

# Front-matter keys that are Article fields; every other key lands in Article.extra.
CORE_KEYS = ("title", "url", "published", "source", "author")
_OPENING = re.compile(r"---[ \t]*\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_ATX_HEADING = re.compile(r"#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"=+[ \t]*$")


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: a 'billion laughs' block in a fetched page would
    otherwise expand exponentially when its values are turned into strings."""

    def fetch_alias(self) -> None:
        raise yaml.YAMLError("YAML aliases are not allowed in front matter")


@dataclass(frozen=True)
class TextDocument:
    """Front matter (all values as strings) and the body that follows it."""

    meta: dict[str, str] = field(default_factory=dict)
    body: str = ""
    has_front_matter: bool = False


def _as_text(value: object) -> str | None:
    """YAML values as the strings Article stores; dates in ISO form, lists as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def split_front_matter(text: str, name: str) -> TextDocument:
    """Separate a leading '---' YAML block from the body; no closing line means no front matter."""
    opening = _OPENING.match(text)
    if opening is None:
        return TextDocument(body=text)
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        return TextDocument(body=text)
    block = text[opening.end() : closing.start()]
    try:
        data = yaml.load(block, Loader=_NoAliasLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 2})"  # +1 for 0-based, +1 for the opening '---'
        raise BadArticleError(f"{name} has front matter that is not valid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadArticleError(f"{name} has front matter that is not a list of 'key: value' lines")
    meta: dict[str, str] = {}
    for key, value in data.items():
        as_text = _as_text(value)
        if as_text is not None:
            meta[str(key)] = as_text.strip()
    if not all(is_valid_unicode(k) and is_valid_unicode(v) for k, v in meta.items()):
        raise BadArticleError(f"{name} has front matter with a \\u escape that is not a character")
    body = text[closing.end() :].removeprefix("\n")
    return TextDocument(meta=meta, body=body, has_front_matter=True)


def take_leading_heading(body: str) -> tuple[str | None, str]:
    """A markdown body's opening '# Title' (or 'Title' + '===') and the body without it."""
    trimmed = trim_blank_lines(body)
    lines = trimmed.split("\n")
    atx = _ATX_HEADING.fullmatch(lines[0])
    if atx is not None:
        return atx.group(1).strip(), "\n".join(lines[1:])
    if len(lines) > 1 and lines[0].strip() and _SETEXT_UNDERLINE.fullmatch(lines[1]):
        return lines[0].strip(), "\n".join(lines[2:])
    return None, trimmed


def article_from_text_document(
    text: str,
    *,
    name: str,
    article_id: str,
    path: str | None,
    markdown: bool,
    fallback_title: str,
    url: str | None = None,
) -> Article:
    """The article in a .md/.txt file's text (already decoded, '\\r\\n' already normalised).

    Title: front matter, else a markdown '# heading', else a scrape's headline, else the
    fallback. Dates: front matter, else a byline or dateline in the first lines (read before
    scrape cleaning, which drops such lines). Scrape cleaning only applies to plain text
    without front matter.
    """
    doc = split_front_matter(text, name)
    meta = dict(doc.meta)
    published, updated = take_dates(meta, where=name)
    if published is None:  # front matter wins; without a date there, the byline's
        published, updated = body_dates(doc.body, where=name)
    title = meta.pop("title", "") or None
    body = doc.body
    if title is None and markdown:
        title, body = take_leading_heading(body)
    if not markdown and not doc.has_front_matter:
        cleaned = clean_scrape(body)
        if cleaned is not None:
            body = cleaned.text
            title = title or cleaned.title
    body = trim_blank_lines(body)
    if not body.strip():
        raise BadArticleError(f"{name} has no article text")
    fields = {
        key: meta.pop(key, "") or None for key in CORE_KEYS if key not in ("title", "published")
    }
    return Article(
        id=article_id,
        title=title or fallback_title,
        text=body,
        url=url or fields["url"],
        published=published,
        updated=updated,
        source=fields["source"],
        author=fields["author"],
        path=path,
        extra=meta,
    )
