"""Telling users about failures: a short message when expected, else a logged traceback plus
one apology. Every message goes out with AllowedMentions.none()."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.discord_app.embeds import fit_content
from bot.discord_app.errors import APOLOGY, unwrap, user_message

logger = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()


def error_text(error: BaseException, where: str) -> str:
    """What to tell the user; logs a bug's traceback (and an expected refusal at INFO)."""
    text = user_message(error)
    if text is None:
        original = unwrap(error)
        logger.error(
            "%s failed", where, exc_info=(type(original), original, original.__traceback__)
        )
        return APOLOGY
    logger.info("%s refused: %s", where, text)
    return text


async def tell_interaction(interaction: discord.Interaction, text: str) -> None:
    """A short message, privately when Discord allows it (before any deferral)."""
    text = fit_content(text)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as exc:  # e.g. the interaction expired: nobody left to tell
        logger.warning("could not send %r to the user: %s", text[:80], exc)


async def tell_message(message: discord.Message, text: str) -> None:
    """A short reply quoting `message` (without pinging its author)."""
    text = fit_content(text)
    try:
        await message.channel.send(
            text,
            reference=message.to_reference(fail_if_not_exists=False),
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
        )
    except discord.HTTPException as exc:
        logger.warning("could not send %r to the user: %s", text[:80], exc)


async def report_interaction_error(interaction: discord.Interaction, error: BaseException) -> None:
    command = interaction.command
    where = f"/{command.qualified_name}" if command is not None else "button"
    await tell_interaction(interaction, error_text(error, where))


async def report_message_error(message: discord.Message, error: BaseException, where: str) -> None:
    await tell_message(message, error_text(error, where))


async def report_command_error(ctx: commands.Context[Any], error: BaseException) -> None:
    name = ctx.command.qualified_name if ctx.command is not None else "?"
    await report_message_error(ctx.message, error, f"{ctx.prefix or ''}{name}")
