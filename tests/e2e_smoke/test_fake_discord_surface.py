"""Covers the rest of the fake's surface with a second throwaway bot.

Message lifecycle (edit, react, typing, history, delete), DMs, live guild changes, missing
permissions, intents (privileged intents refused, Message Content off), subcommands with
user options, ephemeral followups and webhook edits/deletes, select menus, RECONNECT, a 429
on the interaction webhook, and Discord's message limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import (
    CLIENT_OPTIONS,
    ErrorLogRecorder,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    running_bot,
)
from tests.fakediscord import permissions as perms

pytestmark = pytest.mark.timeout(30)


class Picker(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.select(
        custom_id="surface:pick",
        options=[
            discord.SelectOption(label="One", value="1"),
            discord.SelectOption(label="Two", value="2"),
        ],
    )
    async def pick(
        self, interaction: discord.Interaction, select: discord.ui.Select[Picker]
    ) -> None:
        await interaction.response.send_message(f"picked {','.join(select.values)}")


news = app_commands.Group(name="news", description="News tools")


@news.command(description="Who is this")
async def who(interaction: discord.Interaction, member: discord.Member) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send(f"that is {member.name}")
    await interaction.edit_original_response(content=f"edited: {member.name}")
    extra = await interaction.followup.send("second", ephemeral=True, wait=True)
    await extra.delete()


@app_commands.command(description="Who am I")
async def whoami(interaction: discord.Interaction) -> None:
    where = "a DM" if interaction.guild is None else interaction.guild.name
    await interaction.response.send_message(f"{interaction.user.name} in {where}")


@app_commands.command(description="Say hi")
async def hi(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("hi there")


class SurfaceBot(commands.Bot):
    def __init__(self, *, message_content: bool = True, members: bool = False) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        super().__init__(command_prefix="!", intents=intents, **CLIENT_OPTIONS)
        self.seen_contents: list[str] = []
        for command in (lifecycle, dm_me, picker, toolong, ping):
            self.add_command(command)
        self.tree.add_command(news)
        self.tree.add_command(whoami)

    async def setup_hook(self) -> None:
        self.add_view(Picker())
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if message.author != self.user:
            self.seen_contents.append(message.content)
        await self.process_commands(message)


@commands.command()
async def ping(ctx: commands.Context[SurfaceBot]) -> None:
    await ctx.send("pong")


@commands.command()
async def lifecycle(ctx: commands.Context[SurfaceBot]) -> None:
    async with ctx.typing():
        message = await ctx.send("one")
    await message.edit(content="two")
    await message.add_reaction("\N{THUMBS UP SIGN}")
    fetched = await ctx.channel.fetch_message(message.id)
    history = [m async for m in ctx.channel.history(limit=10)]
    await message.delete()
    await ctx.send(f"fetched {fetched.content}, history {len(history)}")


@commands.command(name="dm")
async def dm_me(ctx: commands.Context[SurfaceBot]) -> None:
    await ctx.author.send("a private hello")


@commands.command()
async def picker(ctx: commands.Context[SurfaceBot]) -> None:
    await ctx.send("pick one", view=Picker())


@commands.command()
async def toolong(ctx: commands.Context[SurfaceBot]) -> None:
    try:
        await ctx.send("x" * 2001)
    except discord.HTTPException as exc:
        await ctx.send(f"rejected {exc.status} {exc.code}")


class World:
    def __init__(self, fake: FakeDiscord) -> None:
        self.guild: FakeGuild = fake.add_guild("Newsroom")
        self.channel: FakeChannel = self.guild.text_channels[0]
        self.alice: FakeMember = fake.add_member(self.guild, "alice")


@pytest.fixture
def world(fake_discord: FakeDiscord) -> World:
    return World(fake_discord)


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, world: World) -> AsyncIterator[SurfaceBot]:
    client = SurfaceBot()
    async with running_bot(fake_discord, client):
        yield client


async def test_message_lifecycle(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    fake_discord.send_user_message(world.channel, world.alice, "!lifecycle")
    summary = await fake_discord.wait_for_message(world.channel, lambda m: "fetched" in m.content)
    assert summary.content == "fetched two, history 2"
    first = next(
        m for m in fake_discord.messages_in(world.channel, include_deleted=True) if m.edits
    )
    assert first.deleted and first.content == "two" and first.reactions == ["\N{THUMBS UP SIGN}"]
    assert fake_discord.requests_matching("POST", r"/channels/\d+/typing")
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_dm_in_and_out(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    dm = fake_discord.dm_channel(world.alice)
    fake_discord.send_user_message(dm, world.alice, "!ping")
    assert (await fake_discord.wait_for_message(dm)).content == "pong"
    fake_discord.send_user_message(world.channel, world.alice, "!dm")
    assert (await fake_discord.wait_for_message(dm)).content == "a private hello"
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_live_world_changes_reach_the_bot(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    later = fake_discord.add_guild("Joined later")
    extra = fake_discord.add_channel(world.guild, "extra", topic="more")
    role = fake_discord.add_role(world.guild, "editors", perms.MANAGE_MESSAGES)

    def all_cached() -> bool:
        guild = bot.get_guild(world.guild.id)
        return bool(
            bot.get_guild(later.id)
            and bot.get_channel(extra.id)
            and guild is not None
            and guild.get_role(role.id)
        )

    await fake_discord.wait_until(all_cached, description="new guild, channel, role in cache")
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_missing_permission_is_a_403(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    bot_role = next(r for r in world.guild.roles.values() if r.bot_id)
    fake_discord.set_permission_overwrite(world.channel, bot_role, deny=perms.SEND_MESSAGES)
    fake_discord.send_user_message(world.channel, world.alice, "!ping")
    denied = await fake_discord.wait_for_request("POST", r"/channels/\d+/messages")
    assert denied.status == 403
    await fake_discord.wait_until(lambda: discord_errors.records, description="command error")
    assert "Missing Permissions" in "\n".join(discord_errors.formatted())
    discord_errors.clear()
    fake_discord.assert_clean()


async def test_message_limits_are_enforced(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    fake_discord.send_user_message(world.channel, world.alice, "!toolong")
    reply = await fake_discord.wait_for_message(world.channel)
    assert reply.content == "rejected 400 50035"
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_subcommand_user_option_ephemeral_followups(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    handle = fake_discord.send_slash_command(
        world.channel, world.alice, "news", {"who": {"member": world.alice}}
    )
    await fake_discord.wait_for_interaction_response(
        handle, followups=2, until=lambda h: h.followups[-1].deleted
    )
    assert handle.response_type == 5 and handle.ephemeral
    assert handle.original is not None and handle.original.content == "edited: alice"
    assert handle.followups[0] is handle.original
    assert handle.followups[1].content == "second" and handle.followups[1].ephemeral
    assert [e["content"] for e in handle.original_edits] == ["edited: alice"]
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_select_menu(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    fake_discord.send_user_message(world.channel, world.alice, "!picker")
    menu = await fake_discord.wait_for_message(world.channel)
    chosen = fake_discord.select_options(menu, "surface:pick", ["2"], world.alice)
    await fake_discord.wait_for_interaction_response(chosen)
    assert chosen.response_data["content"] == "picked 2"
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_reconnect_opcode_and_429_on_interaction_webhook(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    await fake_discord.send_reconnect()
    await fake_discord.wait_for_resumes(1)
    await fake_discord.invalidate_session(resumable=True)
    await fake_discord.wait_for_resumes(2)
    fake_discord.fail_next("POST", r"/interactions/\d+/[^/]+/callback", retry_after=0.1)
    fake_discord.fail_next("PATCH", r"/webhooks/\d+/[^/]+/messages/@original", retry_after=0.1)
    handle = fake_discord.send_slash_command(
        world.channel, world.alice, "news", {"who": {"member": world.alice}}
    )
    await fake_discord.wait_for_interaction_response(
        handle, followups=2, until=lambda h: h.followups[-1].deleted
    )
    assert handle.original is not None and handle.original.content == "edited: alice"
    assert fake_discord.gateway.identify_count == 1
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_unsynced_command_cannot_be_invoked(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot
) -> None:
    with pytest.raises(LookupError):
        fake_discord.send_slash_command(world.channel, world.alice, "hi")


async def test_guild_command_sync(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    guild = discord.Object(world.guild.id)
    bot.tree.add_command(hi, guild=guild)
    await bot.tree.sync(guild=guild)
    assert [c["name"] for c in fake_discord.registered_commands[world.guild.id]] == ["hi"]
    handle = fake_discord.send_slash_command(world.channel, world.alice, "hi")
    assert handle.payload["data"]["guild_id"] == str(world.guild.id)
    await fake_discord.wait_for_interaction_response(handle)
    assert handle.response_data["content"] == "hi there"
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_without_message_content_intent_only_mentions_carry_content(
    fake_discord: FakeDiscord, world: World, discord_errors: ErrorLogRecorder
) -> None:
    client = SurfaceBot(message_content=False)
    async with running_bot(fake_discord, client):
        fake_discord.send_user_message(world.channel, world.alice, "!ping")
        fake_discord.send_user_message(
            world.channel, world.alice, f"{fake_discord.bot_user.mention} hello"
        )
        await fake_discord.wait_until(lambda: len(client.seen_contents) == 2)
    assert client.seen_contents == ["", f"<@{fake_discord.bot_user.id}> hello"]
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_privileged_intents_not_enabled_are_refused(
    no_external_network: object, discord_errors: ErrorLogRecorder
) -> None:
    async with FakeDiscord(allowed_privileged_intents=0) as fake:
        with fake.patch_discord_py():
            fake.add_guild()
            with pytest.raises(discord.PrivilegedIntentsRequired):
                async with running_bot(fake, SurfaceBot(members=True)):
                    pass
    discord_errors.assert_no_errors()


async def test_unknown_routes_are_reported(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=1))
    assert [r.path for r in fake_discord.unknown_requests] == ["/guilds/1/bans"]
    assert any("unknown route" in p for p in fake_discord.problems())
    fake_discord.unknown_requests.clear()
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()


async def test_slash_command_in_dm_and_guild(
    fake_discord: FakeDiscord, world: World, bot: SurfaceBot, discord_errors: ErrorLogRecorder
) -> None:
    in_dm = fake_discord.send_slash_command(
        fake_discord.dm_channel(world.alice), world.alice, "whoami"
    )
    in_guild = fake_discord.send_slash_command(world.channel, world.alice, "whoami")
    await fake_discord.wait_for_interaction_response(in_dm)
    await fake_discord.wait_for_interaction_response(in_guild)
    assert in_dm.response_data["content"] == "alice in a DM"
    assert in_guild.response_data["content"] == "alice in Newsroom"
    discord_errors.assert_no_errors()
    fake_discord.assert_clean()
