"""The discord.py Bot, following discord.py's examples/advanced_startup.py: everything it needs
is passed in, and setup_hook loads the cogs (nothing happens at import time).

Slash commands are never synced here; `newsdesk sync-commands` or the owner's `!sync` do it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_app.replies import report_command_error, report_interaction_error
from bot.discord_app.services import DAY, Services

logger = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_app.cogs.ask",
    "bot.discord_app.cogs.manage",
    "bot.discord_app.cogs.admin",
)


# What the invite link asks for: read and answer in channels (and threads), with embeds.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
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

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.services.prepared:
            self._reload_loop.start()

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

    async def close(self) -> None:
        self._reload_loop.cancel()
        await super().close()
