"""`/feed add`, `/feed list`, `/feed remove`: the feeds a collection follows (admins only).

The bot polls them itself (`NewsdeskBot.poll_feeds_once`, every DISCORD_FEED_CHECK_SECONDS).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import feed_text
from bot.discord_app.answering import Reply
from bot.discord_app.errors import NotAllowedError
from bot.discord_app.permissions import may_manage
from bot.discord_app.views import send_followup
from retrieval.errors import FeedNotFoundError

if TYPE_CHECKING:
    from bot.discord_app.client import NewsdeskBot


class FeedsCog(commands.Cog):
    # Server-only, and installed with the bot to a server (never to a user).
    feed = app_commands.Group(
        name="feed",
        description="Feeds this server's collection follows",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.services = bot.services

    def require_admin(self, interaction: discord.Interaction, action: str) -> None:
        if not may_manage(interaction, self.services.admin):
            raise NotAllowedError(self.services.admin.refusal(action))

    @feed.command(name="add", description="Follow an RSS, Atom or JSON feed (or a news sitemap)")
    @app_commands.describe(
        url="The feed, or a site's page that names one",
        channel="Post the titles of new entries here (optional)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 1, 2000],
        channel: discord.TextChannel | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)
        self.require_admin(interaction, "follow feeds")
        feed = await self.services.feeds.subscribe(
            url,
            collection=self.services.collection_key(interaction.guild_id),
            announce_channel=channel.id if channel is not None else None,
            added_by=f"{interaction.user.name} ({interaction.user.id})",
        )
        minutes = self.services.settings.feed_poll_minutes
        await send_followup(interaction, Reply(content=feed_text.followed(feed, minutes)))
        self.bot.poll_feed_soon(feed)

    @feed.command(name="list", description="The feeds followed, with their last poll and errors")
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        collection = self.services.collection_key(interaction.guild_id)
        found = await asyncio.to_thread(self.services.feeds.store.feeds, collection=collection)
        await send_followup(interaction, Reply(content=feed_text.feed_list(found)))

    @feed.command(name="remove", description="Stop following a feed (its articles stay)")
    @app_commands.describe(feed="Start typing its title")
    async def remove(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 200]
    ) -> None:
        await interaction.response.defer(thinking=True)
        self.require_admin(interaction, "stop following feeds")
        collection = self.services.collection_key(interaction.guild_id)
        feed_id = feed.strip().split(" ", 1)[0]
        if not feed_id.isdigit():
            raise FeedNotFoundError(f"no feed {feed[:100]!r}; pick one from the list")
        removed = await asyncio.to_thread(
            self.services.feeds.store.remove, int(feed_id), collection=collection
        )
        await send_followup(interaction, Reply(content=feed_text.unfollowed(removed)))

    @remove.autocomplete("feed")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        collection = self.services.collection_key(interaction.guild_id)
        found = await asyncio.to_thread(self.services.feeds.store.feeds, collection=collection)
        return [
            app_commands.Choice(name=name, value=value)
            for name, value in feed_text.choices(found, current)
        ]


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(FeedsCog(bot))
