"""Proves the fake Discord can host the real discord.py client end to end.

Uses a throwaway ``commands.Bot`` defined here (not the product bot) that exercises each
surface the product relies on: login/READY, prefix commands with the Message Content intent,
slash commands (direct, deferred + followup), persistent buttons, autocomplete, modals,
attachment download and upload, REST retries on 429/5xx, gateway resume and heartbeats, and
allowed_mentions. Each test also checks that discord.py logged no error and no unknown
route was hit (explicitly, and again in the ``fake_discord`` fixture teardown).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import socket
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import (
    CLIENT_OPTIONS,
    ErrorLogRecorder,
    ExternalNetworkBlocked,
    FakeChannel,
    FakeDiscord,
    FakeFile,
    FakeGuild,
    FakeMember,
    NetworkGuard,
    running_bot,
)
from tests.loop_stalls import MachineObserver, Sample, assert_no_stalls, judge

pytestmark = pytest.mark.timeout(30)

SEARCH_TOPICS = ["alpha", "alpine", "beta", "gamma"]


class CounterView(discord.ui.View):
    """A persistent view: fixed custom_id, no timeout, registered with ``bot.add_view``."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Count", custom_id="smoke:count", style=discord.ButtonStyle.primary)
    async def count(
        self, interaction: discord.Interaction, button: discord.ui.Button[CounterView]
    ) -> None:
        await interaction.response.edit_message(content=f"clicked by {interaction.user.name}")


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}")


class SmokeBot(commands.Bot):
    """The throwaway bot under test."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        intents.members = True
        super().__init__(command_prefix="!", intents=intents, **CLIENT_OPTIONS)
        self.add_command(ping)
        self.add_command(panel)
        self.add_command(readfile)
        self.add_command(quiet)
        self.add_command(loud)
        self.tree.add_command(echo)
        self.tree.add_command(slow)
        self.tree.add_command(search)
        self.tree.add_command(feedback)

    async def setup_hook(self) -> None:
        self.add_view(CounterView())
        await self.tree.sync()


@commands.command()
async def ping(ctx: commands.Context[SmokeBot]) -> None:
    await ctx.send("pong")


@commands.command()
async def panel(ctx: commands.Context[SmokeBot]) -> None:
    await ctx.send("panel", view=CounterView())


@commands.command()
async def readfile(ctx: commands.Context[SmokeBot]) -> None:
    attachment = ctx.message.attachments[0]
    data = await attachment.read()
    text = data.decode()
    await ctx.send(
        f"{attachment.filename}: {len(data)} bytes",
        file=discord.File(io.BytesIO(text.upper().encode()), filename="upper.txt"),
    )


@commands.command()
async def quiet(ctx: commands.Context[SmokeBot]) -> None:
    await ctx.reply(f"hello {ctx.author.mention}", allowed_mentions=discord.AllowedMentions.none())


@commands.command()
async def loud(ctx: commands.Context[SmokeBot]) -> None:
    await ctx.send(
        f"hello {ctx.author.mention}",
        allowed_mentions=discord.AllowedMentions(users=True, roles=False, everyone=False),
    )


@app_commands.command(description="Echo text back")
async def echo(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(f"echo: {text}")


@app_commands.command(description="Answer after thinking")
async def slow(interaction: discord.Interaction, query: str) -> None:
    await interaction.response.defer(thinking=True)
    await asyncio.sleep(0.05)
    await interaction.followup.send(f"slow: {query}")


@app_commands.command(description="Search topics")
async def search(interaction: discord.Interaction, topic: str) -> None:
    await interaction.response.send_message(f"topic {topic}", ephemeral=True)


@search.autocomplete("topic")
async def search_topics(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=t, value=t) for t in SEARCH_TOPICS if t.startswith(current)]


@app_commands.command(description="Send feedback")
async def feedback(interaction: discord.Interaction) -> None:
    await interaction.response.send_modal(FeedbackModal())


# fixtures ------------------------------------------------------------------------------------


class World:
    """The guild, channel and user the tests act with."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.guild: FakeGuild = fake.add_guild("Newsroom")
        self.channel: FakeChannel = self.guild.text_channels[0]
        self.alice: FakeMember = fake.add_member(self.guild, "alice")


@pytest.fixture
def world(fake_discord: FakeDiscord) -> World:
    return World(fake_discord)


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, world: World) -> AsyncIterator[SmokeBot]:
    client = SmokeBot()
    async with running_bot(fake_discord, client):
        yield client


def assert_healthy(fake: FakeDiscord, errors: ErrorLogRecorder) -> None:
    errors.assert_no_errors()
    fake.assert_clean()


# tests ---------------------------------------------------------------------------------------


async def test_login_ready_and_guild_available(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    assert bot.user is not None and bot.user.id == fake_discord.bot_user.id
    assert bot.application_id == fake_discord.application_id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and not guild.unavailable
    assert guild.get_channel(world.channel.id) is not None
    # members intent: the client chunked the guild over the gateway and cached everyone
    assert fake_discord.gateway.member_requests
    assert guild.get_member(world.alice.id) is not None
    assert guild.me.guild_permissions.send_messages
    me = fake_discord.requests_matching("GET", "/users/@me")[0]
    assert me.headers["Authorization"] == f"Bot {fake_discord.token}"
    assert fake_discord.gateway.identify_count == 1
    assert fake_discord.gateway.identify_payloads[0]["intents"] == bot.intents.value
    # discord.py picks zstd-stream when a zstd module is importable, else zlib-stream.
    expected = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
    assert fake_discord.gateway.connections[0].query["compress"] == expected
    assert_healthy(fake_discord, discord_errors)


async def test_bad_token_is_rejected_like_discord(
    fake_discord: FakeDiscord, discord_errors: ErrorLogRecorder
) -> None:
    client = SmokeBot()
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()
    assert fake_discord.requests_matching("GET", "/users/@me")[0].status == 401
    assert_healthy(fake_discord, discord_errors)


async def test_prefix_command_answers(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    fake_discord.send_user_message(world.channel, world.alice, "!ping")
    reply = await fake_discord.wait_for_message(world.channel)
    assert reply.content == "pong"
    assert reply.source == "rest"
    assert reply.payload["author"]["id"] == str(fake_discord.bot_user.id)
    assert_healthy(fake_discord, discord_errors)


async def test_slash_commands_synced_and_answered(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    assert fake_discord.requests_matching("PUT", r"/applications/\d+/commands")[0].status == 200
    synced = {c["name"] for c in fake_discord.registered_commands[None]}
    assert synced == {"echo", "slow", "search", "feedback"}

    direct = fake_discord.send_slash_command(world.channel, world.alice, "echo", {"text": "hi"})
    await fake_discord.wait_for_interaction_response(direct)
    assert direct.response_type == 4
    assert direct.response_data["content"] == "echo: hi"
    assert direct.original is not None and direct.original.content == "echo: hi"

    deferred = fake_discord.send_slash_command(world.channel, world.alice, "slow", {"query": "q"})
    await fake_discord.wait_for_interaction_response(deferred, followups=1)
    assert deferred.response_type == 5
    assert deferred.followups[0].content == "slow: q"
    # Discord: the first followup after a deferral edits the "thinking" message in place
    assert deferred.followups[0] is deferred.original
    assert not deferred.original.flags & (1 << 7)

    callbacks = fake_discord.requests_matching("POST", r"/interactions/\d+/[^/]+/callback")
    assert all(r.query.get("with_response") == "1" for r in callbacks)
    assert all("Authorization" not in r.headers for r in callbacks)
    assert_healthy(fake_discord, discord_errors)


async def test_persistent_button_click_edits_message(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    fake_discord.send_user_message(world.channel, world.alice, "!panel")
    panel_message = await fake_discord.wait_for_message(world.channel)
    assert panel_message.components[0]["components"][0]["custom_id"] == "smoke:count"

    click = fake_discord.click_button(panel_message, "smoke:count", world.alice)
    await fake_discord.wait_for_interaction_response(click)
    assert click.response_type == 7
    assert panel_message.content == "clicked by alice"
    assert click.original is panel_message
    assert_healthy(fake_discord, discord_errors)


async def test_autocomplete_returns_choices(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    typing = fake_discord.send_autocomplete(
        world.channel, world.alice, "search", {"topic": "al"}, focused="topic"
    )
    await fake_discord.wait_for_interaction_response(typing)
    assert typing.response_type == 8
    assert typing.choices == [
        {"name": "alpha", "value": "alpha"},
        {"name": "alpine", "value": "alpine"},
    ]

    chosen = fake_discord.send_slash_command(
        world.channel, world.alice, "search", {"topic": "beta"}
    )
    await fake_discord.wait_for_interaction_response(chosen)
    assert chosen.ephemeral and chosen.response_data["content"] == "topic beta"
    assert_healthy(fake_discord, discord_errors)


async def test_modal_round_trip(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    shown = fake_discord.send_slash_command(world.channel, world.alice, "feedback")
    await fake_discord.wait_for_interaction_response(shown)
    assert shown.response_type == 9 and shown.response_data["title"] == "Feedback"

    submitted = fake_discord.submit_modal(shown, {"feedback:text": "great"})
    await fake_discord.wait_for_interaction_response(submitted)
    assert submitted.response_data["content"] == "thanks: great"
    assert_healthy(fake_discord, discord_errors)


async def test_attachment_download_and_upload(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    note = FakeFile("notes.txt", b"hello world", "text/plain")
    fake_discord.send_user_message(world.channel, world.alice, "!readfile", attachments=[note])
    reply = await fake_discord.wait_for_message(world.channel)
    assert reply.content == "notes.txt: 11 bytes"
    assert [f.filename for f in reply.files] == ["upper.txt"]
    assert reply.files[0].data == b"HELLO WORLD"
    assert reply.attachments[0]["filename"] == "upper.txt"
    upload = fake_discord.requests_matching("POST", r"/channels/\d+/messages")[-1]
    assert upload.files and upload.json["content"] == "notes.txt: 11 bytes"
    assert_healthy(fake_discord, discord_errors)


@pytest.mark.parametrize(("status", "retry_after"), [(429, 0.2), (500, 0.0)])
async def test_rest_failures_are_retried(
    fake_discord: FakeDiscord,
    world: World,
    bot: SmokeBot,
    discord_errors: ErrorLogRecorder,
    status: int,
    retry_after: float,
) -> None:
    fake_discord.fail_next(
        "POST", r"/channels/\d+/messages", status=status, retry_after=retry_after
    )
    fake_discord.send_user_message(world.channel, world.alice, "!ping")
    reply = await fake_discord.wait_for_message(world.channel, timeout=5.0)
    assert reply.content == "pong"
    attempts = fake_discord.requests_matching("POST", r"/channels/\d+/messages")
    assert [r.status for r in attempts] == [status, 200]
    assert len(fake_discord.messages_in(world.channel)) == 2  # the user's and exactly one reply
    assert_healthy(fake_discord, discord_errors)


@pytest.mark.parametrize("close_code", [None, 4000])
async def test_gateway_drop_resumes_and_replays(
    fake_discord: FakeDiscord,
    world: World,
    bot: SmokeBot,
    discord_errors: ErrorLogRecorder,
    close_code: int | None,
) -> None:
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)

    await fake_discord.drop_gateway_connection(close_code)
    # dispatched while the bot is disconnected: must be replayed on RESUME
    fake_discord.send_user_message(world.channel, world.alice, "!ping")
    await fake_discord.wait_for_resumes(1)
    assert (await fake_discord.wait_for_message(world.channel)).content == "pong"
    await asyncio.wait_for(resumed.wait(), timeout=5)

    fake_discord.send_user_message(world.channel, world.alice, "!ping")
    assert (await fake_discord.wait_for_message(world.channel)).content == "pong"
    assert fake_discord.gateway.identify_count == 1
    assert fake_discord.gateway.connections[-1].path == "/resume"
    assert_healthy(fake_discord, discord_errors)


async def test_heartbeats_flow_without_stalls(
    fake_discord: FakeDiscord,
    world: World,
    discord_errors: ErrorLogRecorder,
    machine: MachineObserver,
) -> None:
    """200 ms apart, none more than 300 ms late unless the machine kept the loop from a CPU
    (tests/loop_stalls.py): nothing blocked the bot's event loop."""
    fake_discord.gateway.heartbeat_interval_ms = 200
    async with running_bot(fake_discord, SmokeBot()):
        beats = await fake_discord.wait_for_heartbeats(4, timeout=5)
    late = [Sample(a.at + 0.2, b.at) for a, b in itertools.pairwise(beats)]
    observed = machine.window(beats[0].at, beats[-1].at)
    assert_no_stalls(judge(late, observed, limit=0.3), "the heartbeats")
    assert beats[-1].sequence is not None and beats[-1].sequence >= 2
    assert_healthy(fake_discord, discord_errors)


async def test_allowed_mentions_recorded_and_applied(
    fake_discord: FakeDiscord, world: World, bot: SmokeBot, discord_errors: ErrorLogRecorder
) -> None:
    command = fake_discord.send_user_message(world.channel, world.alice, "!quiet")
    silent = await fake_discord.wait_for_message(world.channel)
    assert silent.content == f"hello <@{world.alice.id}>"
    assert silent.allowed_mentions == {"parse": []}  # AllowedMentions.none()
    assert silent.payload["referenced_message"]["id"] == str(command.id)
    assert silent.mentioned_user_ids == []

    fake_discord.send_user_message(world.channel, world.alice, "!loud")
    pinging = await fake_discord.wait_for_message(world.channel)
    assert pinging.allowed_mentions == {"parse": ["users"], "replied_user": True}
    assert pinging.mentioned_user_ids == [world.alice.id]
    assert_healthy(fake_discord, discord_errors)


async def test_network_guard_blocks_non_loopback() -> None:
    guard = NetworkGuard()
    with guard.installed():
        with socket.socket() as sock, pytest.raises(ExternalNetworkBlocked):
            sock.connect(("192.0.2.1", 443))
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("discord.com", 443)
        with pytest.raises(ExternalNetworkBlocked):
            await asyncio.open_connection("192.0.2.1", 443)
        with pytest.raises(OSError):
            await asyncio.open_connection("gateway.discord.gg", 443)
    assert len(guard.violations) == 4, guard.violations
