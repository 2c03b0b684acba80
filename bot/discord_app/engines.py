"""Which engine answers in which guild: one shared collection, or one per guild (a setting).

Per-guild engines live in `<index_dir>/guilds/<guild_id>` over `<articles_dir>/guilds/<id>`
and are opened lazily, in a thread, on a guild's first use. All engines share one encoder.
An engine whose index is missing is built from its articles folder when opened.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.discord_app.errors import GuildOnlyError
from retrieval.collection import sync_with_folder
from retrieval.embedding import Embedder
from retrieval.engine import Engine
from retrieval.errors import IndexMissingError
from retrieval.index.writer import SyncReport
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


def open_or_build(settings: RetrievalSettings, embedder: Embedder) -> Engine:
    """Open the index; if there is none, build it from the articles folder (blocking)."""
    engine = Engine(settings, embedder)
    try:
        return engine.open(create=False)
    except IndexMissingError:
        logger.info(
            "no index in %s: building it from %s", settings.index_dir, settings.articles_dir
        )
    engine.open(create=True)
    if settings.articles_dir.is_dir():
        report = sync_from_folder(engine, settings)
        logger.info("index built: %s", report.summary())
    return engine


def sync_from_folder(engine: Engine, settings: RetrievalSettings) -> SyncReport:
    """Make the index match the articles folder (what /reindex and a missing index run)."""
    if not settings.articles_dir.is_dir():
        return engine.sync([], remove_missing=True)
    # Reads the folder under the index's write lock: an /add finishing meanwhile is kept.
    return sync_with_folder(engine, settings)


def guild_settings(settings: RetrievalSettings, guild_id: int) -> RetrievalSettings:
    return settings.model_copy(
        update={
            "index_dir": settings.index_dir / GUILDS_FOLDER / str(guild_id),
            "articles_dir": settings.articles_dir / GUILDS_FOLDER / str(guild_id),
        }
    )


class EngineRegistry:
    def __init__(
        self,
        settings: RetrievalSettings,
        embedder_factory: Callable[[RetrievalSettings], Embedder],
        *,
        per_guild: bool,
    ) -> None:
        self.settings = settings
        self.per_guild = per_guild
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()
        self._scoped: dict[int | None, ScopedEngine] = {}
        self._opening: dict[int | None, asyncio.Lock] = {}

    def embedder(self) -> Embedder:
        """Loaded once (the real model takes seconds), on first need, in a worker thread."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory(self.settings)
            return self._embedder

    def open_shared(self) -> ScopedEngine:
        """Blocking: what the runner calls before connecting, so the index exists at start."""
        scoped = self._scoped.get(None)
        if scoped is None:
            scoped = ScopedEngine(
                open_or_build(self.settings, self.embedder()), self.settings, None
            )
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
            return ScopedEngine(open_or_build(self.settings, self.embedder()), self.settings, None)
        settings = guild_settings(self.settings, key)
        logger.info("opening the collection of guild %s", key)
        return ScopedEngine(open_or_build(settings, self.embedder()), settings, key)

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
