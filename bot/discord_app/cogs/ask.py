"""Asking: `/ask`, the "Find evidence" message menu, `!ask`, @mention, and answer channels.

`/ask` and "Find evidence" may be installed to a user as well as to a server, and used in
servers, DMs with the bot and group DMs. Where the interaction is not authorized by a server
install of the app (a DM, a group DM, a server without the bot), they search the shared
collection: per-server collections belong to the servers that installed the bot.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.answering import answer_question
from bot.discord_app.conversing import (
    Place,
    can_open_thread,
    conversation_thread,
    open_thread,
    place_of,
)
from bot.discord_app.errors import NoTextError
from bot.discord_app.questions import question_from_message, question_in_message
from bot.discord_app.replies import report_message_error
from bot.discord_app.views import (
    MoreButton,
    VoteButton,
    reply_to_message,
    send_followup,
    send_message,
)

if TYPE_CHECKING:
    from bot.discord_app.client import NewsdeskBot


# The buttons answers carry: registered while the cog is loaded, so a click on an answer
# sent before a restart still reaches its handler.
PERSISTENT_ITEMS = (MoreButton, VoteButton)


FIND_EVIDENCE = "Find evidence"


def collection_guild(interaction: discord.Interaction) -> int | None:
    """The guild whose collection answers: the interaction's, when a server install of the
    app authorized it; else None (the shared collection): DMs, group DMs, and servers where
    only the member installed the app (the bot is not there, so neither are its articles)."""
    if interaction.is_user_integration() and not interaction.is_guild_integration():
        return None
    return interaction.guild_id


class AskCog(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.find_evidence_menu = app_commands.ContextMenu(
            name=FIND_EVIDENCE, callback=self.find_evidence
        )
        app_commands.allowed_installs(guilds=True, users=True)(self.find_evidence_menu)
        app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(
            self.find_evidence_menu
        )

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        self.bot.tree.add_command(self.find_evidence_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(FIND_EVIDENCE, type=discord.AppCommandType.message)
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)

    @app_commands.command(name="ask", description="Ask a question about the articles")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(
        question="What do you want to know?",
        since="Only articles published on or after this day (e.g. 2025-09-01)",
        before="Only articles published before this day (e.g. 2025-09-08)",
        private="Only you see the answer",
    )
    async def ask_slash(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1],
        since: app_commands.Range[str, 1, 40] | None = None,
        before: app_commands.Range[str, 1, 40] | None = None,
        private: bool = False,
    ) -> None:
        await interaction.response.defer(thinking=True, ephemeral=private)
        # In a conversation's thread /ask is a follow-up too (a private one is not recorded:
        # the thread's other members never saw it).
        me = self.bot.user
        channel = interaction.channel
        conversation = None
        if me is not None and conversation_thread(channel, me.id, self.services):
            assert channel is not None
            conversation = channel.id
        context = await self.services.conversations.acontext(conversation) if conversation else None
        reply = await answer_question(
            self.services,
            question=with_time_operators(question, since=since, before=before),
            guild_id=collection_guild(interaction),
            user_id=interaction.user.id,
            via="follow-up" if context is not None else "slash",
            context=context,
        )
        sent = await send_followup(interaction, dataclasses.replace(reply, ephemeral=private))
        if conversation is not None and sent is not None and reply.cited and not private:
            await self.services.conversations.arecord_turn(
                conversation,
                guild_id=interaction.guild_id,
                question=reply.question,
                cited=reply.cited,
                answer_messages=[sent.id],
            )

    async def find_evidence(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Apps > Find evidence: the message's text (its question-like sentences when long) is
        the question; only the asker sees the answer unless DISCORD_FIND_EVIDENCE_PUBLIC."""
        private = not self.services.bot_settings.find_evidence_public
        await interaction.response.defer(thinking=True, ephemeral=private)
        guild_id = collection_guild(interaction)
        scoped = await self.services.engines.get(guild_id)
        question = question_from_message(message.content, scoped.engine.settings.max_question_chars)
        if question is None:
            raise NoTextError()
        reply = await answer_question(
            self.services,
            question=question,
            guild_id=guild_id,
            user_id=interaction.user.id,
            via="context-menu",
        )
        if reply.answer_id is not None:
            reply = dataclasses.replace(reply, content=quoted(question, reply.content))
        await send_followup(interaction, dataclasses.replace(reply, ephemeral=private))

    @commands.command(name="ask", help="Ask a question about the articles.")
    async def ask_prefix(self, ctx: commands.Context[NewsdeskBot], *, question: str = "") -> None:
        me = self.bot.user
        place = Place(None)
        if me is not None and ctx.guild is not None:
            place = await place_of(ctx.message, me.id, self.services)
        await self._converse(ctx.message, question, "prefix", place)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None:
            return
        settings = self.services.bot_settings
        own_role = message.guild.self_role if message.guild is not None else None
        is_dm = message.guild is None
        place = Place(None)
        if not is_dm and (
            isinstance(message.channel, discord.Thread) or message.reference is not None
        ):
            # Only candidates cost a store lookup: a thread, or a reply.
            place = await place_of(message, me.id, self.services)
        question = question_in_message(
            message.content,
            author_is_bot=message.author.bot or message.webhook_id is not None,
            bot_id=me.id,
            prefix=settings.prefix,
            channel_id=message.channel.id,
            answer_channels=settings.answer_channels,
            is_dm=is_dm,
            follow_up=place.conversation_id is not None,
            bot_role_id=own_role.id if own_role is not None else None,
        )
        if question is None:
            return
        via = "dm" if message.guild is None else "channel"
        if f"{me.id}>" in message.content or (own_role and f"{own_role.id}>" in message.content):
            via = "mention"
        try:
            await self._converse(message, question, via, place)
        except Exception as exc:  # noqa: BLE001 - reported: friendly text, or traceback logged
            await report_message_error(message, exc, via)

    async def _converse(
        self, message: discord.Message, question: str, via: str, place: Place
    ) -> None:
        """Answers in the message's conversation (its context read with the question), in a
        new thread when the channel answers in threads, and records the answered turn."""
        services = self.services
        guild_id = message.guild.id if message.guild else None
        conversation = place.conversation_id
        if place.forum_post and isinstance(message.channel, discord.Thread):
            # A forum post's title is usually the question itself; its body adds detail.
            question = " ".join(part for part in (message.channel.name, question) if part)
        context = await services.conversations.acontext(conversation) if conversation else None
        thread = None
        if conversation is None and can_open_thread(message, services):
            thread = await open_thread(message, question)
        target: discord.abc.Messageable = thread or message.channel
        async with target.typing():
            reply = await answer_question(
                services,
                question=question,
                guild_id=guild_id,
                user_id=message.author.id,
                via="follow-up" if context is not None else via,
                context=context,
            )
        if thread is not None:
            sent = await send_message(thread, reply)
            conversation = thread.id
        else:
            sent = await reply_to_message(message, reply)
        if reply.cited:
            await services.conversations.arecord_turn(
                conversation if conversation is not None else sent.id,
                guild_id=guild_id,
                question=reply.question,
                cited=reply.cited,
                answer_messages=[sent.id],
            )


def quoted(question: str, content: str | None) -> str:
    """The question the menu asked, above the answer: it was picked from someone's message."""
    line = f"> {discord.utils.escape_markdown(question)}"
    return f"{line}\n{content}" if content else line


def with_time_operators(question: str, *, since: str | None, before: str | None) -> str:
    """The options as the question's own operators, so the window is kept with the question
    ("More results" asks it again) and refused with the same message if not a date."""
    parts = [question]
    parts += [f"since:{'-'.join(since.split())}"] if since else []
    parts += [f"before:{'-'.join(before.split())}"] if before else []
    return " ".join(parts)


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(AskCog(bot))
