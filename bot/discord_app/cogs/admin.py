"""Owner-only `!sync`: publishes the slash commands (never done automatically on start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord.ext import commands

from bot.discord_app.answering import Reply
from bot.discord_app.views import reply_to_message

if TYPE_CHECKING:
    from bot.discord_app.client import NewsdeskBot


class AdminCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @commands.command(name="sync", help="Owner only: publish slash commands (global or here).")
    @commands.is_owner()
    async def sync(
        self, ctx: commands.Context[NewsdeskBot], scope: Literal["global", "here"] = "global"
    ) -> None:
        if scope == "here":
            if ctx.guild is None:
                raise commands.NoPrivateMessage()
            guild = discord.Object(ctx.guild.id)
            self.bot.tree.copy_global_to(guild=guild)
            synced = await self.bot.tree.sync(guild=guild)
            where = "to this server"
        else:
            synced = await self.bot.tree.sync()
            where = "globally"
        names = ", ".join(
            c.name if c.type is discord.AppCommandType.message else f"/{c.name}" for c in synced
        )
        text = f"Synced {len(synced)} commands {where}: {names}"
        await reply_to_message(ctx.message, Reply(content=text))


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(AdminCog(bot))
