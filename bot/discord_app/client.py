"""The discord.py Bot, following discord.py's examples/advanced_startup.py: everything it needs
is passed in, and setup_hook loads the cogs (nothing happens at import time).

Slash commands are never synced here; `newsdesk sync-commands` or the owner's `!sync` do it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_app import feed_text
from bot.discord_app.replies import report_command_error, report_interaction_error
from bot.discord_app.services import DAY, Services

if TYPE_CHECKING:
    from retrieval.feeds.poller import PollReport
    from retrieval.feeds.store import Feed

logger = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_app.cogs.ask",
    "bot.discord_app.cogs.manage",
    "bot.discord_app.cogs.admin",
    "bot.discord_app.cogs.feeds",
    "bot.discord_app.cogs.gaps",
)


# What the invite link asks for: read and answer in channels (and threads), with embeds.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,  # answering in threads (DISCORD_ANSWER_IN_THREADS)
    embed_links=True,
    read_message_history=True,
    use_application_commands=True,
)
INVITE_SCOPES = ("bot", "applications.commands")


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES
    )


def intents_for(message_content: bool) -> discord.Intents:
    """Guild messages for prefix/mention questions; Message Content is privileged (portal)."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


class NewsdeskTree(app_commands.CommandTree["NewsdeskBot"]):
    async def on_error(
        self, interaction: discord.Interaction[NewsdeskBot], error: app_commands.AppCommandError, /
    ) -> None:
        await report_interaction_error(interaction, error)


class NewsdeskBot(commands.Bot):
    def __init__(self, services: Services, **options: Any) -> None:
        settings = services.bot_settings
        super().__init__(
            command_prefix=settings.prefix,
            intents=intents_for(settings.message_content),
            allowed_mentions=discord.AllowedMentions.none(),
            owner_ids=set(settings.owner_ids),
            tree_cls=NewsdeskTree,
            description="Answers questions with cited excerpts from the articles.",
            **options,
        )
        self.services = services
        self._reload_loop = tasks.loop(seconds=settings.reload_seconds)(self._reload_changed)
        self._pruned_at = services.clock()
        self._feed_loop = tasks.loop(seconds=settings.feed_check_seconds)(self.poll_feeds_once)
        self._feed_tasks: set[asyncio.Task[None]] = set()
        self._changes_task: asyncio.Task[None] | None = None
        self._reloading = asyncio.Lock()
        self._reload_again = False

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.services.prepared:
            self._reload_loop.start()
            self._feed_loop.start()
            url = self.services.settings.database_url
            if url is not None:
                # With the index in PostgreSQL, other processes' adds are picked up as they
                # commit, not at the next poll.
                from retrieval.index.postgres.changes import watch_changes

                self._changes_task = asyncio.create_task(
                    watch_changes(url.get_secret_value(), self._on_index_change),
                    name="index-changes",
                )

    async def _on_index_change(self, collection: str) -> None:
        """One reload at a time; a change announced during one gets one more after it (a
        rebuild's batches come quickly one after another)."""
        self._reload_again = True
        if self._reloading.locked():
            return
        async with self._reloading:
            while self._reload_again:
                self._reload_again = False
                try:
                    await asyncio.to_thread(self.services.engines.reload_all_if_changed)
                except Exception:
                    logger.exception("reloading the index after a change in %s failed", collection)

    async def on_ready(self) -> None:
        logger.info("logged in as %s in %d servers", self.user, len(self.guilds))
        if self.application_id is not None:
            logger.info("invite link: %s", invite_url(self.application_id))

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError, /
    ) -> None:
        if isinstance(exception, commands.CommandNotFound):
            return  # "!hello" in a busy channel is not for us
        await report_command_error(context, exception)

    async def _reload_changed(self) -> None:
        """Every few seconds: pick up index changes from the CLI (`newsdesk add` meanwhile);
        once a day, forget answers past their retention."""
        try:
            await asyncio.to_thread(self.services.engines.reload_all_if_changed)
            if self.services.clock() - self._pruned_at >= DAY:
                self._pruned_at = self.services.clock()
                await asyncio.to_thread(self.services.forget_old_answers)
        except Exception:  # the next tick tries again; a broken index is logged, not fatal
            logger.exception("checking the index for outside changes failed")

    async def poll_feeds_once(self) -> None:
        """Poll the feeds whose time has come and announce what was new. A poll never blocks
        the loop (HTTP is async; parsing, SQLite and indexing run in threads) and a failure is
        logged: the next tick tries again."""
        try:
            reports = await self.services.feeds.poll_due()
        except Exception:
            logger.exception("polling the feeds failed")
            return
        for report in reports:
            logger.info("%s", report.summary())
            await self.announce(report)

    def poll_feed_soon(self, feed: Feed) -> None:
        """A first poll right after /feed add, in the background (kept until it ends)."""

        async def run() -> None:
            try:
                await self.announce(await self.services.feeds.poll(feed))
            except Exception:
                logger.exception("the first poll of feed %s failed", feed.id)

        task = asyncio.create_task(run(), name=f"feed-{feed.id}-first-poll")
        self._feed_tasks.add(task)
        task.add_done_callback(self._feed_tasks.discard)

    async def announce(self, report: PollReport) -> None:
        """One message per poll and feed in its announcement channel, if it has one."""
        channel_id = report.feed.announce_channel
        if not channel_id or not report.added:
            return
        channel = self.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            logger.warning("feed %s: announcement channel %s is gone", report.feed.id, channel_id)
            return
        try:
            await channel.send(
                feed_text.announcement(report.feed, report.added),
                allowed_mentions=discord.AllowedMentions.none(),
                suppress_embeds=True,
            )
        except discord.HTTPException as exc:
            logger.warning("feed %s: could not announce in %s: %s", report.feed.id, channel_id, exc)

    async def close(self) -> None:
        if self._changes_task is not None:
            self._changes_task.cancel()
        self._feed_loop.cancel()
        for task in list(self._feed_tasks):
            task.cancel()
        self._reload_loop.cancel()
        await super().close()


class ShardedNewsdeskBot(NewsdeskBot, commands.AutoShardedBot):
    """The same bot for some of a bot's shards (`newsdesk run --shard-ids 0,1 --shard-count
    4`): Discord sends each process only its shards' servers, and the processes share what
    they must through the database (NEWSDESK_DATABASE_URL) and the feed list's claims."""
