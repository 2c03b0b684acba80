"""`/remove`, `/status`, `/reindex`: blocking helpers (run in threads) and reply texts."""

from __future__ import annotations

import asyncio

from bot.discord_app.embeds import escape_text, shorten, status_content
from bot.discord_app.engines import ScopedEngine
from bot.discord_app.errors import AmbiguousArticleError
from retrieval.collection import remove_article, sync_with_folder
from retrieval.documents import Article
from retrieval.engine import Engine
from retrieval.errors import IndexBusyError

MAX_CHOICES = 25  # Discord's limit on autocomplete suggestions
MAX_CHOICE_CHARS = 100


def resolve_article_id(engine: Engine, value: str) -> str:
    """The id picked from autocomplete, or a typed title/id that names one article."""
    value = value.strip()
    if engine.get_article(value) is not None:
        return value
    page, total = engine.list_articles(value, limit=MAX_CHOICES)
    exact = [item for item in page if item.title.casefold() == value.casefold()]
    if len(exact) == 1:
        return exact[0].id
    if total == 1:
        return page[0].id
    raise AmbiguousArticleError(
        f"No single article matches “{escape_text(shorten(value, 100))}”. "
        "Pick one from the suggestions, or see /sources."
    )


def remove_by_value(scoped: ScopedEngine, value: str) -> Article:
    """Blocking: out of the index and out of the articles folder."""
    article_id = resolve_article_id(scoped.engine, value)
    return remove_article(scoped.engine, scoped.settings, article_id)


def removed_text(article: Article) -> str:
    return f"Removed “{escape_text(shorten(article.title, 200))}” (`{article.id}`)."


def choices(engine: Engine, current: str) -> list[tuple[str, str]]:
    """(name, value) suggestions for `/remove article:` (titles shown, ids sent)."""
    page, _ = engine.list_articles(current.strip() or None, limit=MAX_CHOICES)
    return [
        (shorten_plain(item.title, MAX_CHOICE_CHARS), item.id)
        for item in page
        if len(item.id) <= MAX_CHOICE_CHARS
    ]


def shorten_plain(text: str, limit: int) -> str:
    """Choice names are plain text (no markdown), 1..limit characters."""
    text = " ".join(text.split()) or "Untitled"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def status_text(scoped: ScopedEngine) -> str:
    status = await asyncio.to_thread(scoped.engine.status)
    return status_content(status, scoped.label)


async def reindex(scoped: ScopedEngine) -> str:
    """Rebuild from the folder in a thread; searches use the old snapshot until the swap."""
    if scoped.reindex_lock.locked():
        raise IndexBusyError("A reindex of this collection is already running.")
    async with scoped.reindex_lock:
        report = await asyncio.to_thread(sync_with_folder, scoped.engine, scoped.settings)
    status = await asyncio.to_thread(scoped.engine.status)
    return (
        f"Reindexed the {scoped.label} from its articles folder: {report.summary()}. "
        f"Now {status.articles} articles, {status.chunks} chunks."
    )
