"""Other processes' commits, as they happen: every commit to a collection in the database
sends `NOTIFY newsdesk_changes, '<collection>'` (store.py), and a process that listens
reloads at once instead of at its next poll of the generation number."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg import sql

from retrieval.index.postgres.connection import safe_database_url
from retrieval.index.postgres.store import CHANGES_CHANNEL

logger = logging.getLogger(__name__)


async def watch_changes(
    url: str, on_change: Callable[[str], Awaitable[None]], *, retry_seconds: float = 5.0
) -> None:
    """Call `on_change(collection)` for each commit, until cancelled. A lost connection is
    logged and made again (the caller's poll of the generation covers the gap)."""
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=10, application_name="newsdesk-listen"
            )
            async with conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANGES_CHANNEL)))
                logger.info("listening for index changes in %s", safe_database_url(url))
                async for notice in conn.notifies():
                    await on_change(notice.payload)
        except psycopg.Error as exc:
            logger.warning(
                "listening for index changes in %s failed (%s); again in %.0f s",
                safe_database_url(url),
                " ".join(str(exc).split())[:200],
                retry_seconds,
            )
        await asyncio.sleep(retry_seconds)
