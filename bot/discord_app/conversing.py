"""Conversations in Discord: which messages continue one, threads opened on questions, and
recording each answered turn so the next follow-up is read in its context.

A message continues a conversation when it is in a thread the bot opened, in the thread of a
post in a listed forum (or a thread of a listed channel), or a reply to a bot answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import discord

from bot.discord_app.embeds import shorten
from bot.discord_app.services import Services
from bot.discord_app.views import MORE_PREFIX, VOTE_PREFIX

logger = logging.getLogger(__name__)
MAX_THREAD_NAME = 100
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day, as Discord's client defaults


@dataclass(frozen=True)
class Place:
    """Where a message stands: the conversation it continues (None: a fresh question)."""

    conversation_id: int | None
    forum_post: bool = False  # the first message of a forum post: its title is part of it


def thread_name(question: str) -> str:
    """A thread named from its question, within Discord's 100 characters."""
    name = " ".join(question.split()) or "Question"
    return shorten(name, MAX_THREAD_NAME)


def is_answer(message: discord.Message) -> bool:
    """A bot answer carries our buttons (a refusal or a "no good match" does not)."""
    for row in message.components:
        for item in getattr(row, "children", ()):
            custom_id = getattr(item, "custom_id", None) or ""
            if custom_id.startswith((MORE_PREFIX, VOTE_PREFIX)):
                return True
    return False


def conversation_thread(channel: object, me_id: int, services: Services) -> bool:
    """A thread the bot opened, or one in a listed channel or forum: all of it is one
    conversation with the bot."""
    return isinstance(channel, discord.Thread) and (
        channel.owner_id == me_id or channel.parent_id in services.bot_settings.answer_channels
    )


async def place_of(message: discord.Message, me_id: int, services: Services) -> Place:
    channel = message.channel
    if conversation_thread(channel, me_id, services):
        assert isinstance(channel, discord.Thread)
        forum_post = message.id == channel.id and isinstance(channel.parent, discord.ForumChannel)
        return Place(channel.id, forum_post=forum_post)
    reference = message.reference
    if reference is None or reference.message_id is None:
        return Place(None)
    known = await services.conversations.aconversation_of(reference.message_id)
    if known is not None:
        return Place(known)
    resolved = reference.resolved
    if (
        isinstance(resolved, discord.Message)
        and resolved.author.id == me_id
        and is_answer(resolved)
    ):
        # An answer from before its conversation was recorded (or after it expired).
        return Place(reference.message_id)
    return Place(None)


def can_open_thread(message: discord.Message, services: Services) -> bool:
    channel = message.channel
    if not isinstance(channel, discord.TextChannel) or message.guild is None:
        return False
    if not services.bot_settings.threads_in(channel.id):
        return False
    permissions = channel.permissions_for(message.guild.me)
    return permissions.create_public_threads and permissions.send_messages_in_threads


async def open_thread(message: discord.Message, question: str) -> discord.Thread | None:
    """A thread on the question, or None (then the answer goes in the channel) when Discord
    refuses, e.g. a permission taken away meanwhile."""
    try:
        return await message.create_thread(
            name=thread_name(question), auto_archive_duration=THREAD_ARCHIVE_MINUTES
        )
    except discord.HTTPException as exc:
        logger.warning("could not open a thread in %s: %s", message.channel.id, exc)
        return None
