"""`/sources`: one page of the collection's articles, newest first by publication date or by
when they were added."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import discord

from bot.discord_app.embeds import sources_embed
from bot.discord_app.services import Services
from retrieval.index.catalogue import ArticleSummary
from retrieval.index.store import ArticleOrder

PAGE_SIZE = 10


@dataclass(frozen=True)
class SourcesPage:
    embed: discord.Embed
    page: int
    pages: int
    total: int


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / page_size))


async def list_page(
    services: Services,
    *,
    guild_id: int | None,
    search: str | None,
    page: int,
    order: ArticleOrder = "published",
) -> SourcesPage:
    scoped = await services.engines.get(guild_id)
    search = search.strip() or None if search else None
    page = max(1, page)

    def listing(page: int) -> tuple[list[ArticleSummary], int]:
        offset = (page - 1) * PAGE_SIZE
        return scoped.engine.list_articles(search, limit=PAGE_SIZE, offset=offset, order=order)

    items, total = await asyncio.to_thread(listing, page)
    pages = page_count(total)
    if page > pages:  # a stale button after removals: show the last page instead
        page = pages
        items, total = await asyncio.to_thread(listing, page)
    embed = sources_embed(
        items, total=total, offset=(page - 1) * PAGE_SIZE, search=search, order=order
    )
    return SourcesPage(embed, page, pages, total)
