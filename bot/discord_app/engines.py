"""Which engine answers in which guild: one shared collection, or one per guild (a setting).

Per-guild engines live in `<index_dir>/guilds/<guild_id>` over `<articles_dir>/guilds/<id>`
and are opened lazily, in a thread, on a guild's first use. How an engine is opened (one
encoder for all; a missing index built from its articles folder) is the composition root's
business: the registry is handed its builder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.discord_app.errors import GuildOnlyError
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)
GUILDS_FOLDER = "guilds"


@dataclass
class ScopedEngine:
    """An engine with the settings (folders) it writes to, and a lock so one reindex runs."""

    engine: Engine
    settings: RetrievalSettings
    guild_id: int | None
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def label(self) -> str:
        return "shared collection" if self.guild_id is None else "this server's collection"


def guild_settings(settings: RetrievalSettings, guild_id: int) -> RetrievalSettings:
    return settings.model_copy(
        update={
            "index_dir": settings.index_dir / GUILDS_FOLDER / str(guild_id),
            "articles_dir": settings.articles_dir / GUILDS_FOLDER / str(guild_id),
            # In a database, a guild's collection is its own (the shared one stays as set).
            "database_collection": f"{settings.database_collection}_guild_{guild_id}"[:40],
        }
    )


class EngineRegistry:
    def __init__(
        self,
        settings: RetrievalSettings,
        open_engine: Callable[[RetrievalSettings], Engine],
        *,
        per_guild: bool,
    ) -> None:
        """`open_engine` (blocking) opens the engine over a collection's settings, building its
        index when missing: the composition root's builder, shared encoder included."""
        self.settings = settings
        self.per_guild = per_guild
        self._open_engine = open_engine
        self._scoped: dict[int | None, ScopedEngine] = {}
        self._opening: dict[int | None, asyncio.Lock] = {}

    def open_shared(self) -> ScopedEngine:
        """Blocking: what the runner calls before connecting, so the index exists at start."""
        scoped = self._scoped.get(None)
        if scoped is None:
            scoped = self._open(None)
            self._scoped[None] = scoped
        return scoped

    async def get(self, guild_id: int | None) -> ScopedEngine:
        """The engine for a guild. DMs use the shared collection, or are refused per guild."""
        if self.per_guild and guild_id is None:
            raise GuildOnlyError()
        key = guild_id if self.per_guild else None
        scoped = self._scoped.get(key)
        if scoped is not None:
            return scoped
        lock = self._opening.setdefault(key, asyncio.Lock())
        async with lock:
            scoped = self._scoped.get(key)
            if scoped is None:
                scoped = await asyncio.to_thread(self._open, key)
                self._scoped[key] = scoped
        return scoped

    def _open(self, key: int | None) -> ScopedEngine:
        if key is None:
            return ScopedEngine(self._open_engine(self.settings), self.settings, None)
        settings = guild_settings(self.settings, key)
        logger.info("opening the collection of guild %s", key)
        return ScopedEngine(self._open_engine(settings), settings, key)

    def opened(self) -> list[ScopedEngine]:
        return list(self._scoped.values())

    def reload_all_if_changed(self) -> int:
        """Blocking: pick up index writes from other processes (`newsdesk add` meanwhile)."""
        reloaded = 0
        for scoped in list(self._scoped.values()):
            if scoped.engine.reload_if_changed():
                logger.info("reloaded the %s: it was changed elsewhere", scoped.label)
                reloaded += 1
        return reloaded
