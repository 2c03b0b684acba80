"""Everything the cogs share: settings, engines, the answer/feedback store, the cooldown.

Built by the composition root (bot/compose.py) and handed to the bot; nothing here touches
Discord.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.discord_app.conversations import FILE_NAME as CONVERSATIONS_FILE
from bot.discord_app.conversations import ConversationStore, Limits
from bot.discord_app.cooldown import Cooldown
from bot.discord_app.engines import EngineRegistry
from bot.discord_app.gaps import FILE_NAME as GAPS_FILE
from bot.discord_app.gaps import GapStore
from bot.discord_app.permissions import AdminRule
from bot.discord_app.votes import FILE_NAME, FeedbackStore
from bot.settings import BotSettings
from retrieval.dates import warm_up as warm_up_dates
from retrieval.engine import Engine
from retrieval.feeds.poller import FeedPoller, Target
from retrieval.feeds.store import FILE_NAME as FEEDS_FILE
from retrieval.feeds.store import SHARED, FeedStore
from retrieval.near_duplicates import warm_up as warm_up_copies
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)
DAY = 86_400.0


@dataclass
class Services:
    bot_settings: BotSettings
    settings: RetrievalSettings
    engines: EngineRegistry
    store: FeedbackStore
    gaps: GapStore
    cooldown: Cooldown
    admin: AdminRule
    load_encoder: Callable[[], object]  # loads the shared encoder (seconds for the model)
    conversations: ConversationStore
    feeds: FeedPoller = field(init=False)
    clock: Callable[[], float] = time.monotonic
    prepared: bool = field(default=False, init=False)

    @classmethod
    def create(
        cls,
        bot_settings: BotSettings,
        settings: RetrievalSettings,
        *,
        open_engine: Callable[[RetrievalSettings], Engine],
        load_encoder: Callable[[], object],
    ) -> Services:
        """Cheap: opens nothing (so `sync-commands` can build the bot without the model).
        `open_engine` and `load_encoder` come from the composition root (bot/compose.py)."""
        services = cls(
            bot_settings=bot_settings,
            settings=settings,
            engines=EngineRegistry(
                settings, open_engine, per_guild=bot_settings.per_guild_collections
            ),
            store=_feedback_store(settings),
            gaps=GapStore(settings.index_dir / GAPS_FILE),
            cooldown=_cooldown(bot_settings, settings),
            admin=AdminRule(bot_settings.admin_role_id, bot_settings.admin_role),
            load_encoder=load_encoder,
            conversations=ConversationStore(
                settings.index_dir / CONVERSATIONS_FILE,
                Limits(
                    turns=bot_settings.conversation_turns,
                    max_age_seconds=bot_settings.conversation_hours * 3600,
                ),
            ),
        )
        services.feeds = FeedPoller(
            FeedStore(settings.index_dir / FEEDS_FILE), settings, services.feed_target
        )
        return services

    def collection_key(self, guild_id: int | None) -> str:
        """Which collection a guild's feeds feed: its own, or the shared one."""
        if self.engines.per_guild and guild_id is not None:
            return str(guild_id)
        return SHARED

    async def feed_target(self, collection: str) -> Target:
        scoped = await self.engines.get(None if collection == SHARED else int(collection))
        return Target(scoped.engine, scoped.settings)

    def prepare(self) -> Services:
        """Blocking, before connecting: load the encoder, the date parser and the wire-copy
        library, open (or build) the shared index and the store, forget expired answers.
        Per-guild collections open on first use."""
        self.load_encoder()
        warm_up_dates()
        warm_up_copies()
        if not self.engines.per_guild:
            scoped = self.engines.open_shared()
            status = scoped.engine.status()
            logger.info(
                "serving %d articles (%d chunks) from %s",
                status.articles,
                status.chunks,
                status.location or status.path,
            )
        self.store.open()
        self.conversations.open()
        self.gaps.open()
        self.forget_old_answers()
        self.prepared = True
        return self

    def forget_old_answers(self) -> int:
        """Blocking. Their buttons then say they expired; feedback already given stays.
        Recorded gaps older than DISCORD_GAPS_RETENTION_DAYS go too."""
        days = self.bot_settings.answer_retention_days
        pruned = self.store.prune(days * DAY)
        self.conversations.prune(answers_older_than=days * DAY)
        if pruned:
            logger.info("forgot %d answers older than %d days", pruned, days)
        gap_days = self.bot_settings.gaps_retention_days
        if forgot := self.gaps.prune(gap_days * DAY):
            logger.info("forgot %d gaps older than %d days", forgot, gap_days)
        return pruned


def _feedback_store(settings: RetrievalSettings) -> FeedbackStore:
    """Answers and votes: in the index's database when there is one (every process of the
    bot shares them), else beside the index."""
    if settings.database_url is None:
        return FeedbackStore(settings.index_dir / FILE_NAME)
    from bot.discord_app.shared_state import DatabaseFeedbackStore

    return DatabaseFeedbackStore(settings)


def _cooldown(bot_settings: BotSettings, settings: RetrievalSettings) -> Cooldown:
    if settings.database_url is None:
        return Cooldown(bot_settings.ask_cooldown_seconds)
    from bot.discord_app.shared_state import DatabaseCooldown

    return DatabaseCooldown(bot_settings.ask_cooldown_seconds, settings)
