"""Several bot processes: each runs some of the bot's shards (`newsdesk run --shard-ids …
--shard-count …`) over one collection in PostgreSQL. Here two real discord.py clients, each
with its own services, engine and cache folder (as two hosts would have), share the fake
Discord and one database."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.discord_app.client import ShardedNewsdeskBot
from bot.discord_app.runner import Shards
from retrieval.embedding.factory import load_embedder
from retrieval.engine import Engine
from retrieval.errors import UsageError
from tests.e2e.desk import (
    REUTERS_QUESTION,
    REUTERS_TITLE,
    WAIT,
    LogRecorder,
    bot_settings,
    prepared_services,
    retrieval_settings,
)
from tests.fakediscord import CLIENT_OPTIONS, FakeChannel, FakeDiscord, FakeGuild, running_bot
from tests.reliability import corpus

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]


def _guilds_on_both_shards(fake: FakeDiscord) -> tuple[FakeGuild, FakeGuild]:
    """Servers whose ids put them on shard 0 and on shard 1 of 2 (ids are time-based)."""
    found: dict[int, FakeGuild] = {}
    for number in range(200):
        guild = fake.add_guild(f"Newsroom {number}", channels=("general", "ask-here"))
        found.setdefault((guild.id >> 22) % 2, guild)
        if len(found) == 2:
            return found[0], found[1]
        time.sleep(0.002)
    raise AssertionError("no server landed on the second shard")


async def _answer_to(fake: FakeDiscord, channel: FakeChannel, question: str) -> str:
    assert channel.guild_id is not None
    member = next(iter(fake.world.guilds[channel.guild_id].members.values()))
    sent = fake.send_user_message(channel, member.user, question)
    reply = await fake.wait_for_message(
        channel,
        lambda m: (m.payload.get("message_reference") or {}).get("message_id") == str(sent.id),
        timeout=WAIT,
    )
    await asyncio.sleep(0.5)  # room for a second (wrong) answer from the other process
    answers = [
        m
        for m in fake.world.messages.values()
        if (m.payload.get("message_reference") or {}).get("message_id") == str(sent.id)
    ]
    assert len(answers) == 1, "answered by more than one process"
    return str(reply.payload.get("embeds") or reply.content)


def test_shard_options_are_checked() -> None:
    assert Shards.parse(None, None) is None
    assert Shards.parse("1,0,1", 4) == Shards((0, 1), 4)
    assert Shards.parse(None, 2) == Shards((0, 1), 2)
    for ids, count in (("0,4", 4), ("a", 2), ("0", None)):
        with pytest.raises(UsageError):
            Shards.parse(ids, count)


async def test_two_processes_of_shards_answer_each_server_once(
    fake_discord: FakeDiscord,
    workspace: Path,
    database_url: str,
    bot_logs: LogRecorder,
) -> None:
    first, second = _guilds_on_both_shards(fake_discord)
    answer_channels = [first.text_channels[1].id, second.text_channels[1].id]
    async with AsyncExitStack() as stack:
        bots = []
        for shard in (0, 1):
            retrieval = retrieval_settings(
                workspace,
                database_url=SecretStr(database_url),
                index_dir=workspace / f"host-{shard}",  # each host's own cache folder
            )
            settings = bot_settings(
                fake_discord,
                first.text_channels[1],
                answer_channels=answer_channels,
                reload_seconds=600,  # only the database's notifications can be this quick
            )
            services = await prepared_services(settings, retrieval)
            bot = ShardedNewsdeskBot(services, shard_ids=[shard], shard_count=2, **CLIENT_OPTIONS)
            await stack.enter_async_context(running_bot(fake_discord, bot, ready_timeout=WAIT))
            bots.append(bot)
        for shard, bot in enumerate(bots):  # each process has its shard's servers only
            assert {g.id for g in bot.guilds} == {
                g for g in fake_discord.world.guilds if (g >> 22) % 2 == shard
            }
        assert first.id in {g.id for g in bots[0].guilds}
        assert second.id in {g.id for g in bots[1].guilds}
        for guild in (first, second):
            assert REUTERS_TITLE in await _answer_to(
                fake_discord, guild.text_channels[1], REUTERS_QUESTION
            )
        # An add from elsewhere (the CLI, a feed poll on another host) reaches both at once.
        writer = Engine(
            bots[0].services.settings.model_copy(update={"index_dir": workspace / "cli"}),
            load_embedder("hashing"),
        ).open()
        await asyncio.to_thread(writer.add, [corpus.article(3)])
        for guild in (first, second):
            deadline = time.monotonic() + WAIT
            while True:
                reply = await _answer_to(fake_discord, guild.text_channels[1], corpus.question(3))
                if f"Report 3 {corpus.marker(3)}" in reply:
                    break
                assert time.monotonic() < deadline, "the add never reached this process"
    assert not bot_logs.records, "errors logged:\n" + "\n".join(bot_logs.messages())
