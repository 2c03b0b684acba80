"""Managing the collection: `/add`, `/remove`, `/sources`, `/status`, `/reindex`.

Add, remove and reindex need Manage Server or the configured admin role. All of them are
installed with the bot to a server, never to a user: add, remove and reindex only in servers,
/sources and /status there and in a DM with the bot.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import adding, managing, sources
from bot.discord_app.answering import Reply
from bot.discord_app.errors import NotAllowedError
from bot.discord_app.permissions import may_manage
from bot.discord_app.views import SourcesPageButton, send_followup, sources_view
from retrieval.errors import NewsdeskError
from retrieval.index.store import ArticleOrder

if TYPE_CHECKING:
    from bot.discord_app.client import NewsdeskBot


class ManageCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.services = bot.services

    async def cog_load(self) -> None:
        # /sources paging buttons keep working on listings sent before a restart.
        self.bot.add_dynamic_items(SourcesPageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SourcesPageButton)

    def require_admin(self, interaction: discord.Interaction, action: str) -> None:
        if not may_manage(interaction, self.services.admin):
            raise NotAllowedError(self.services.admin.refusal(action))

    @app_commands.command(name="add", description="Add an article from a link, a file or text")
    @app_commands.guild_only()
    @app_commands.guild_install()
    @app_commands.describe(
        url="A web page or PDF to fetch",
        file="A .txt, .md, .html or .pdf file",
        title="The article's title (for text; overrides a found title)",
        text="The article's text",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: str | None = None,
        file: discord.Attachment | None = None,
        title: app_commands.Range[str, 1, 300] | None = None,
        text: app_commands.Range[str, 1, 6000] | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)
        self.require_admin(interaction, "add articles")
        bot_settings = self.services.bot_settings
        upload = adding.Upload(file.filename, file.size) if file is not None else None
        kind = adding.choose_source(url=url, upload=upload, title=title, text=text)
        data = None
        if file is not None and upload is not None:
            adding.check_upload(upload, bot_settings.add_max_file_bytes)
            data = await file.read()
        scoped = await self.services.engines.get(interaction.guild_id)
        article = await adding.load_source(
            kind,
            url=url,
            text=text,
            title=title,
            upload_data=data,
            upload_name=upload.filename if upload else None,
            bot_settings=bot_settings,
            allow_private=scoped.settings.allow_private_urls,
        )
        article = adding.stamp(
            article,
            title=title,
            added_by=adding.added_by(interaction.user.name, interaction.user.id),
            added_at=adding.now(),
        )
        outcome = await asyncio.to_thread(adding.store_article, scoped, article)
        await send_followup(interaction, Reply(content=adding.outcome_text(outcome)))

    @app_commands.command(name="remove", description="Remove an article")
    @app_commands.guild_only()
    @app_commands.guild_install()
    @app_commands.describe(article="Start typing its title")
    async def remove(
        self, interaction: discord.Interaction, article: app_commands.Range[str, 1, 300]
    ) -> None:
        await interaction.response.defer(thinking=True)
        self.require_admin(interaction, "remove articles")
        scoped = await self.services.engines.get(interaction.guild_id)
        removed = await asyncio.to_thread(managing.remove_by_value, scoped, article)
        await send_followup(interaction, Reply(content=managing.removed_text(removed)))

    @remove.autocomplete("article")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            scoped = await self.services.engines.get(interaction.guild_id)
        except NewsdeskError:
            return []
        found = await asyncio.to_thread(managing.choices, scoped.engine, current)
        return [app_commands.Choice(name=name, value=value) for name, value in found]

    @app_commands.command(name="sources", description="List the articles, newest first")
    @app_commands.guild_install()
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.describe(
        search="Only titles or ids containing this",
        page="Page number",
        sort="Newest first by publication date (the default), or last added first",
    )
    @app_commands.choices(
        sort=[
            app_commands.Choice(name="published (newest first)", value="published"),
            app_commands.Choice(name="added (last added first)", value="added"),
        ]
    )
    async def sources(
        self,
        interaction: discord.Interaction,
        search: app_commands.Range[str, 1, 80] | None = None,
        page: app_commands.Range[int, 1, 10_000] = 1,
        sort: app_commands.Choice[str] | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)
        order: ArticleOrder = "added" if sort is not None and sort.value == "added" else "published"
        listing = await sources.list_page(
            self.services, guild_id=interaction.guild_id, search=search, page=page, order=order
        )
        view = sources_view(listing.page, listing.pages, search, order)
        await interaction.followup.send(
            embed=listing.embed,
            allowed_mentions=discord.AllowedMentions.none(),
            view=view if view is not None else discord.utils.MISSING,
        )

    @app_commands.command(name="status", description="What the index holds")
    @app_commands.guild_install()
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        scoped = await self.services.engines.get(interaction.guild_id)
        text = await managing.status_text(scoped)
        await send_followup(interaction, Reply(content=text))

    @app_commands.command(name="reindex", description="Rebuild the index from the articles folder")
    @app_commands.guild_only()
    @app_commands.guild_install()
    async def reindex(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        self.require_admin(interaction, "reindex")
        scoped = await self.services.engines.get(interaction.guild_id)
        text = await managing.reindex(scoped)
        await send_followup(interaction, Reply(content=text))


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(ManageCog(bot))
