"""Threads, forum posts and replies in the fake, driven by a real discord.py bot."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from tests.fakediscord import CLIENT_OPTIONS, FakeDiscord, running_bot
from tests.fakediscord import permissions as perms

pytestmark = pytest.mark.timeout(30)


def make_bot() -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    return commands.Bot(command_prefix="!", intents=intents, **CLIENT_OPTIONS)


async def test_bot_starts_thread_from_message_and_posts_in_it(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Newsroom")
    alice = fake_discord.add_member(guild, "alice")
    channel = guild.text_channels[0]
    bot = make_bot()

    @bot.command()
    async def thread(ctx: commands.Context[commands.Bot]) -> None:
        created = await ctx.message.create_thread(name="answers")
        await created.send("in the thread", allowed_mentions=discord.AllowedMentions.none())

    async with running_bot(fake_discord, bot):
        question = fake_discord.send_user_message(channel, alice, "!thread")
        created = await fake_discord.wait_until(
            lambda: fake_discord.thread_of(question), description="a thread"
        )
        assert created.id == question.id and created.parent_id == channel.id
        assert fake_discord.threads_in(channel) == [created]
        reply = await fake_discord.wait_for_message(created)
        assert reply.content == "in the thread"
        assert question.payload["thread"]["id"] == str(question.id)


async def test_user_message_in_thread_and_reply_resolution(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Newsroom")
    alice = fake_discord.add_member(guild, "alice")
    channel = guild.text_channels[0]
    bot = make_bot()
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author != bot.user:
            await seen.put(message)
            if message.content == "hello":
                await message.reply("hi", allowed_mentions=discord.AllowedMentions.none())

    async with running_bot(fake_discord, bot):
        starter = fake_discord.send_user_message(channel, alice, "topic")
        await asyncio.wait_for(seen.get(), 5)
        thread = fake_discord.create_thread(channel, starter, name="talk", owner=alice)
        fake_discord.send_user_message(thread, alice, "hello")
        got = await asyncio.wait_for(seen.get(), 5)
        assert isinstance(got.channel, discord.Thread)
        assert got.channel.parent is not None and got.channel.parent.id == channel.id
        bot_reply = await fake_discord.wait_for_message(thread)
        fake_discord.send_user_message(thread, alice, "thanks", reply_to=bot_reply)
        answer = await asyncio.wait_for(seen.get(), 5)
        assert answer.type is discord.MessageType.reply
        assert answer.reference is not None
        resolved = answer.reference.resolved
        assert isinstance(resolved, discord.Message) and resolved.author == bot.user


async def test_forum_post_reaches_bot_which_replies(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Newsroom")
    alice = fake_discord.add_member(guild, "alice")
    forum = fake_discord.add_forum_channel(guild, "questions")
    bot = make_bot()
    created: asyncio.Queue[discord.Thread] = asyncio.Queue()

    @bot.event
    async def on_thread_create(thread: discord.Thread) -> None:
        await created.put(thread)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author != bot.user and isinstance(message.channel, discord.Thread):
            await message.channel.send("answer", allowed_mentions=discord.AllowedMentions.none())

    async with running_bot(fake_discord, bot):
        thread, starter = fake_discord.create_forum_post(forum, alice, "Why?", "Explain")
        assert starter.id == thread.id
        got = await asyncio.wait_for(created.get(), 5)
        assert got.id == thread.id and isinstance(got.parent, discord.ForumChannel)
        reply = await fake_discord.wait_for_message(thread)
        assert reply.content == "answer"


async def test_bot_forum_post_and_thread_errors(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Newsroom")
    channel = guild.text_channels[0]
    forum = fake_discord.add_forum_channel(guild, "questions")
    fake_discord.set_permission_overwrite(
        channel, guild.everyone_role, deny=perms.CREATE_PUBLIC_THREADS
    )
    bot = make_bot()
    async with running_bot(fake_discord, bot):
        parent = bot.get_channel(forum.id)
        assert isinstance(parent, discord.ForumChannel)
        post = await parent.create_thread(name="Digest", content="today")
        assert post.message.id == post.thread.id
        assert [m.content for m in fake_discord.messages_in(post.thread.id)] == ["today"]
        text = bot.get_channel(channel.id)
        assert isinstance(text, discord.TextChannel)
        sent = await text.send("x", allowed_mentions=discord.AllowedMentions.none())
        with pytest.raises(discord.Forbidden) as denied:
            await sent.create_thread(name="nope")
        assert denied.value.code == 50013
        with pytest.raises(discord.HTTPException) as too_long:
            await parent.create_thread(name="x" * 101, content="y")
        assert too_long.value.status == 400 and too_long.value.code == 50035
