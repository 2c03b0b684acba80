"""`/add`: a URL, an uploaded file or pasted text -> an article in the folder, indexed.

The article is saved as Markdown with front matter (title, url, added_by, added_at) by
retrieval.collection.add_article, so a rebuild from the folder keeps it. Fetching is async;
parsing, writing and indexing run in a worker thread while questions keep being answered.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from bot.discord_app.embeds import escape_text, shorten
from bot.discord_app.engines import ScopedEngine
from bot.settings import BotSettings
from retrieval.collection import IngestOutcome, add_article
from retrieval.documents import Article
from retrieval.duplicates import is_update, same_article
from retrieval.errors import ArticleExistsError, BadArticleError, UsageError
from retrieval.loaders import article_from_text, fetch_article, load_file
from retrieval.loaders.decoding import format_size

UPLOAD_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
SourceKind = Literal["url", "file", "text"]


@dataclass(frozen=True)
class Upload:
    filename: str
    size: int


@dataclass(frozen=True)
class AddOutcome:
    article: Article
    chunks: int
    already: str | None  # title of the article this one duplicates, if it was not added
    updated: bool = False  # the same page with new text: the stored article, updated


def choose_source(
    *, url: str | None, upload: Upload | None, title: str | None, text: str | None
) -> SourceKind:
    """Exactly one of url:, file: or text: (title: may name any of them)."""
    given: list[SourceKind] = []
    if url and url.strip():
        given.append("url")
    if upload is not None:
        given.append("file")
    if text and text.strip():
        given.append("text")
    if len(given) != 1:
        raise UsageError(
            "Give one of: `url:` (a web page or PDF), `file:` (a .txt, .md, .html or .pdf "
            "attachment), or `title:` with `text:`."
        )
    return given[0]


def check_upload(upload: Upload, max_bytes: int) -> None:
    """Refuse before downloading: wrong type or too large."""
    if not upload.filename.lower().endswith(UPLOAD_SUFFIXES):
        raise BadArticleError("Attach a .txt, .md, .html or .pdf file.")
    if upload.size > max_bytes:
        raise BadArticleError(
            f"{upload.filename} is {format_size(upload.size)}; "
            f"the limit is {format_size(max_bytes)}."
        )


def article_from_upload(filename: str, data: bytes, *, max_bytes: int) -> Article:
    """Parse an uploaded file as the articles folder would (blocking; HTML and PDF parsing
    are slow). It is saved as Markdown, so a PDF's text is what the folder keeps."""
    name = _UNSAFE_NAME.sub("-", Path(filename).name).strip("-.") or "upload.txt"
    with tempfile.TemporaryDirectory(prefix="newsdesk-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        [article] = load_file(path, max_bytes=max_bytes)
    return replace(article, path=None)


def stamp(article: Article, *, title: str | None, added_by: str, added_at: datetime) -> Article:
    """The provenance the front matter records; `title:` overrides the found one."""
    extra = {**article.extra, "added_by": added_by, "added_at": added_at.isoformat()}
    new_title = title.strip() if title and title.strip() else article.title
    return replace(article, title=new_title, extra=extra)


def store_article(scoped: ScopedEngine, article: Article) -> AddOutcome:
    """Blocking: write and index, or report the article it duplicates. An article stored under
    the same id would be replaced by an add, so that one is checked here."""
    engine = scoped.engine
    existing = engine.get_article(article.id)
    if existing is not None and not is_update(existing, article):
        if same_article(existing, article):
            return AddOutcome(existing, 0, existing.title)
        raise ArticleExistsError(
            f"Another article already uses the id `{article.id}` "
            f"(“{shorten(existing.title, 100)}”). Give this one another title, or remove that one."
        )
    outcome: IngestOutcome = add_article(engine, scoped.settings, article)
    if outcome.report.duplicates:
        _, kept = outcome.report.duplicates[0]
        other = engine.get_article(kept)
        return AddOutcome(article, 0, other.title if other else kept)
    saved = outcome.articles[0] if outcome.articles else article
    if not outcome.report.written:  # the page's stored version, with the same text
        return AddOutcome(saved, 0, saved.title)
    return AddOutcome(
        saved, outcome.report.chunks_written, None, updated=bool(outcome.report.changed)
    )


async def load_source(
    kind: SourceKind,
    *,
    url: str | None,
    text: str | None,
    title: str | None,
    upload_data: bytes | None,
    upload_name: str | None,
    bot_settings: BotSettings,
    allow_private: bool,
) -> Article:
    """The article from the chosen source, off the event loop."""
    if kind == "url":
        assert url is not None
        return await fetch_article(
            url.strip(),
            timeout=bot_settings.add_fetch_timeout_seconds,
            max_bytes=bot_settings.add_max_url_bytes,
            allow_private=allow_private,
        )
    if kind == "file":
        assert upload_data is not None and upload_name is not None
        return await asyncio.to_thread(
            article_from_upload,
            upload_name,
            upload_data,
            max_bytes=bot_settings.add_max_file_bytes,
        )
    assert text is not None
    return await asyncio.to_thread(article_from_text, text, title=title)


def added_by(user_name: str, user_id: int) -> str:
    return f"{user_name} (Discord {user_id})"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def outcome_text(outcome: AddOutcome) -> str:
    title = escape_text(shorten(outcome.article.title, 200))
    if outcome.already is not None:
        return f"Already indexed: “{escape_text(shorten(outcome.already, 200))}”."
    chunks = f"{outcome.chunks} chunk{'s' if outcome.chunks != 1 else ''}"
    if outcome.updated:
        return f"Updated: “{title}” (`{outcome.article.id}`): {chunks} indexed."
    return f"Added “{title}” (`{outcome.article.id}`): {chunks} indexed."
