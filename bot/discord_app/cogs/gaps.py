"""`/gaps`: which questions the desk answered badly, grouped, for admins (no user ids).

`record:` turns recording on or off for this server (it overrides DISCORD_RECORD_GAPS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.answering import Reply
from bot.discord_app.embeds import fit_content
from bot.discord_app.errors import BadDateError, NotAllowedError
from bot.discord_app.gaps import group_gaps, question_tokens, report_text
from bot.discord_app.permissions import may_manage
from bot.discord_app.views import send_followup
from retrieval.dates import parse_date

if TYPE_CHECKING:
    from bot.discord_app.client import NewsdeskBot


class GapsCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.services = bot.services
        self._tokens: Callable[[str], list[str]] | None = None  # the analyzer, on first use

    @app_commands.command(name="gaps", description="Questions without a good answer (admins)")
    @app_commands.guild_only()
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.describe(
        since="Only gaps recorded on or after this date (2025-09-01)",
        record="Turn recording on or off for this server",
    )
    async def gaps(
        self,
        interaction: discord.Interaction,
        since: app_commands.Range[str, 1, 40] | None = None,
        record: bool | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        if not may_manage(interaction, self.services.admin):
            raise NotAllowedError(self.services.admin.refusal("see the gaps report"))
        guild_id = interaction.guild_id
        if guild_id is None:  # guild_only: Discord never sends one from a DM
            raise NotAllowedError()
        after = None
        if since is not None:
            parsed = await asyncio.to_thread(parse_date, since)
            if parsed is None:
                raise BadDateError(f"{since!r} is not a date; write it as 2025-09-01.")
            after = parsed.timestamp()
        store = self.services.gaps
        lines = []
        if record is not None:
            await store.aset_recording(guild_id, record)
            lines.append(f"Recording gaps is now {'on' if record else 'off'} for this server.")
        recording = await store.arecording(guild_id, self.services.bot_settings.record_gaps)
        rows = await store.arows(guild_id, after)
        if self._tokens is None:
            self._tokens = await asyncio.to_thread(question_tokens)
        groups = await asyncio.to_thread(group_gaps, rows, self._tokens)
        lines.append(report_text(groups, recording=recording))
        await send_followup(
            interaction, Reply(content=fit_content("\n".join(lines)), ephemeral=True)
        )


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(GapsCog(bot))
