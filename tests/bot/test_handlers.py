"""The cogs, views and error handlers with autospec'd discord.py objects (no network)."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import AsyncMock, MagicMock, create_autospec

import discord
import pytest
from discord.ext import commands

from bot.discord_app.client import EXTENSIONS, NewsdeskBot, NewsdeskTree, intents_for
from bot.discord_app.cogs.admin import AdminCog
from bot.discord_app.cogs.ask import AskCog
from bot.discord_app.cogs.manage import ManageCog
from bot.discord_app.errors import APOLOGY, NotAllowedError
from bot.discord_app.services import Services
from bot.discord_app.views import (
    MoreButton,
    SourcesPageButton,
    VoteButton,
    answer_view,
    sources_custom_id,
    sources_view,
)
from tests.factories import REUTERS_TITLE

pytestmark = pytest.mark.timeout(30)

QUESTION = "What did Kerry want from the Moscow talks?"
BOT_ID = 555000000000000001


def fake_bot(services: Services) -> Any:
    bot = create_autospec(NewsdeskBot, instance=True)
    bot.services = services
    bot.user = create_autospec(discord.ClientUser, instance=True)
    bot.user.id = BOT_ID
    return bot


def fake_interaction(services: Services, *, manage_guild: bool = False, done: bool = True) -> Any:
    """An Interaction whose response/followup record calls (in one shared order list)."""
    interaction = create_autospec(discord.Interaction, instance=True)
    interaction.client = fake_bot(services)
    interaction.guild_id = 10
    interaction.user = create_autospec(discord.User, instance=True)
    interaction.user.id = 20
    interaction.user.name = "alice"
    interaction.permissions = discord.Permissions(manage_guild=manage_guild)
    interaction.response = create_autospec(discord.InteractionResponse, instance=True)
    interaction.response.is_done.return_value = done
    interaction.followup = create_autospec(discord.Webhook, instance=True)
    interaction.command = None
    order = MagicMock()
    order.attach_mock(interaction.response.defer, "defer")
    order.attach_mock(interaction.followup.send, "send")
    interaction.order = order
    return interaction


def fake_message(content: str, *, bot_author: bool = False) -> Any:
    message = create_autospec(discord.Message, instance=True)
    message.content = content
    message.author = create_autospec(discord.Member, instance=True)
    message.author.bot = bot_author
    message.author.id = 30
    message.webhook_id = None
    message.guild = create_autospec(discord.Guild, instance=True)
    message.guild.id = 10
    message.guild.self_role = None
    message.channel = create_autospec(discord.TextChannel, instance=True)
    message.channel.id = 40
    message.reference = None  # not a reply
    message.channel.send.return_value.id = 50  # the answer sent
    return message


def none_mentions(kwargs: dict[str, Any]) -> bool:
    allowed: discord.AllowedMentions = kwargs["allowed_mentions"]
    return allowed.to_dict() == discord.AllowedMentions.none().to_dict()


async def test_slash_ask_defers_first_then_follows_up(services: Services) -> None:
    cog = AskCog(fake_bot(services))
    interaction = fake_interaction(services)
    await cog.ask_slash.callback(cog, interaction, QUESTION)  # type: ignore[arg-type]
    assert [c[0] for c in interaction.order.mock_calls] == ["defer", "send"]
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=False)
    kwargs = interaction.followup.send.await_args.kwargs
    assert kwargs["embeds"][0].title == f"[1] {REUTERS_TITLE}"
    assert none_mentions(kwargs) and kwargs["ephemeral"] is False
    assert next(item.custom_id for item in kwargs["view"].children).startswith("nd:more:")


async def test_mention_is_answered_with_a_quoting_reply(services: Services) -> None:
    cog = AskCog(fake_bot(services))
    message = fake_message(f"<@{BOT_ID}> {QUESTION}")
    await cog.on_message(message)
    kwargs = message.channel.send.await_args.kwargs
    assert kwargs["embeds"][0].title == f"[1] {REUTERS_TITLE}"
    assert kwargs["mention_author"] is False and none_mentions(kwargs)
    message.to_reference.assert_called_once_with(fail_if_not_exists=False)


@pytest.mark.parametrize("content", ["!ask hi", "plain chat", ""])
async def test_messages_that_are_not_questions_are_ignored(
    services: Services, content: str
) -> None:
    cog = AskCog(fake_bot(services))
    message = fake_message(content)
    await cog.on_message(message)
    message.channel.send.assert_not_awaited()


async def test_bots_are_ignored(services: Services) -> None:
    cog = AskCog(fake_bot(services))
    message = fake_message(f"<@{BOT_ID}> {QUESTION}", bot_author=True)
    await cog.on_message(message)
    message.channel.send.assert_not_awaited()


async def test_message_question_errors_are_reported_not_raised(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    cog = AskCog(fake_bot(services))
    message = fake_message(f"<@{BOT_ID}> ???")
    await cog.on_message(message)
    assert message.channel.send.await_args.args[0].startswith("Ask a question with some words")

    services.engines.get = AsyncMock(side_effect=RuntimeError("disk on fire"))  # type: ignore[method-assign]
    message = fake_message(f"<@{BOT_ID}> {QUESTION}")
    with caplog.at_level(logging.ERROR):
        await cog.on_message(message)
    assert message.channel.send.await_args.args[0] == APOLOGY
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and "disk on fire" in str(record.exc_info[1])


@pytest.mark.parametrize("command", ["add", "remove", "reindex"])
async def test_management_refused_without_permission(services: Services, command: str) -> None:
    cog = ManageCog(fake_bot(services))
    interaction = fake_interaction(services)
    callback = getattr(cog, command).callback
    args = {"add": ("T", None, None, None), "remove": ("bees",), "reindex": ()}[command]
    with pytest.raises(NotAllowedError, match="Manage Server permission or the editors role"):
        await callback(cog, interaction, *args)
    interaction.response.defer.assert_awaited_once_with(thinking=True)
    assert services.engines.opened()[0].engine.get_article("bees") is not None


async def test_management_allowed_with_manage_server(services: Services) -> None:
    cog = ManageCog(fake_bot(services))
    interaction = fake_interaction(services, manage_guild=True)
    await cog.remove.callback(cog, interaction, "bees")  # type: ignore[call-arg, arg-type]
    text = interaction.followup.send.await_args.kwargs["content"]
    assert text == "Removed “The life of honey bees” (`bees`)."


async def test_tree_error_handler_is_friendly_or_apologizes(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    bot = NewsdeskBot(services)
    tree = bot.tree
    assert isinstance(tree, NewsdeskTree)
    interaction = fake_interaction(services)
    expected = discord.app_commands.CommandInvokeError(MagicMock(), NotAllowedError("No."))
    await tree.on_error(interaction, expected)
    args, kwargs = interaction.followup.send.await_args
    assert args == ("No.",) and kwargs["ephemeral"] and none_mentions(kwargs)

    fresh = fake_interaction(services, done=False)
    bug = discord.app_commands.CommandInvokeError(MagicMock(), KeyError("boom"))
    with caplog.at_level(logging.ERROR):
        await tree.on_error(fresh, bug)
    args, kwargs = fresh.response.send_message.await_args
    assert args == (APOLOGY,) and kwargs["ephemeral"]
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    await bot.close()


async def test_command_errors(services: Services) -> None:
    bot = NewsdeskBot(services)
    context = create_autospec(commands.Context, instance=True)
    context.message = fake_message("!nope")
    context.command = None
    context.prefix = "!"
    await bot.on_command_error(context, commands.CommandNotFound("nope"))
    context.message.channel.send.assert_not_awaited()
    await bot.on_command_error(context, commands.NotOwner())
    assert context.message.channel.send.await_args.args == ("Only the bot's owner can do that.",)
    await bot.close()


async def test_expired_button_says_so(services: Services) -> None:
    interaction = fake_interaction(services)
    await VoteButton("gone", 1).callback(interaction)
    args, _kwargs = interaction.followup.send.await_args
    assert args == ("These buttons have expired. Please ask the question again.",)
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)


async def test_custom_ids_round_trip() -> None:
    more = MoreButton("abc_-1")
    assert more.custom_id == "nd:more:abc_-1"
    match = MoreButton.__discord_ui_compiled_template__.fullmatch(more.custom_id)
    assert match is not None
    rebuilt = await MoreButton.from_custom_id(MagicMock(), more.item, match)
    assert rebuilt.answer_id == "abc_-1"
    down = VoteButton("abc", -1)
    match = VoteButton.__discord_ui_compiled_template__.fullmatch(down.custom_id)
    assert match is not None
    assert (await VoteButton.from_custom_id(MagicMock(), down.item, match)).vote == -1
    page = SourcesPageButton(3, "kerry", label="x", disabled=False)
    match = SourcesPageButton.__discord_ui_compiled_template__.fullmatch(page.custom_id)
    assert match is not None and match["page"] == "3" and match["search"] == "kerry"
    assert (await SourcesPageButton.from_custom_id(MagicMock(), page.item, match)).order == (
        "published"
    )
    assert len(sources_custom_id(99999, "s" * 300)) == 100
    assert len(sources_custom_id(99999, "s" * 300, "added")) == 100


async def test_sources_buttons_keep_the_sort_order() -> None:
    added = SourcesPageButton(2, "added:x", label="x", disabled=False, order="added")
    assert added.custom_id == "nd:src:2+:added:x"
    template = SourcesPageButton.__discord_ui_compiled_template__
    match = template.fullmatch(added.custom_id)
    assert match is not None
    rebuilt = await SourcesPageButton.from_custom_id(MagicMock(), added.item, match)
    assert (rebuilt.page, rebuilt.search, rebuilt.order) == (2, "added:x", "added")
    # A search that looks like the marker stays a search in the default order.
    plain = SourcesPageButton(2, "+:x", label="x", disabled=False)
    match = template.fullmatch(plain.custom_id)
    assert match is not None
    rebuilt = await SourcesPageButton.from_custom_id(MagicMock(), plain.item, match)
    assert (rebuilt.search, rebuilt.order) == ("+:x", "published")
    pager = sources_view(2, 3, None, "added")
    assert pager is not None
    ids = [item.item.custom_id for item in pager.children]  # type: ignore[attr-defined]
    assert ids == ["nd:src:1+:", "nd:src:3+:"]


def test_views() -> None:
    view = answer_view("abc", has_more=True)
    assert [i.custom_id for i in view.children] == [  # type: ignore[attr-defined]
        "nd:more:abc", "nd:vote:up:abc", "nd:vote:down:abc"
    ]  # fmt: skip
    assert view.timeout is None
    assert len(answer_view("abc", has_more=False).children) == 2
    assert sources_view(1, 1, None) is None
    pager = sources_view(1, 3, "k")
    assert pager is not None
    newer, older = (item.item for item in pager.children)  # type: ignore[attr-defined]
    assert newer.disabled and not older.disabled
    assert newer.custom_id != older.custom_id


async def test_bot_defaults_and_setup(services: Services) -> None:
    bot = NewsdeskBot(services)
    assert bot.allowed_mentions is not None
    assert bot.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
    assert bot.intents.message_content and not bot.intents.members
    assert not intents_for(False).message_content
    assert bot.command_prefix == "!"
    bot.tree.sync = AsyncMock()  # type: ignore[method-assign]
    await bot.setup_hook()
    assert set(bot.extensions) == set(EXTENSIONS)
    assert {c.name for c in bot.tree.get_commands()} == {
        "ask", "add", "remove", "sources", "status", "reindex", "feed", "Find evidence", "gaps"
    }  # fmt: skip
    assert {c.name for c in bot.commands} == {"ask", "sync", "help"}
    await bot.on_ready()
    bot.tree.sync.assert_not_awaited()  # commands are never synced on start
    assert bot._reload_loop.is_running()
    await bot.close()
    assert not bot._reload_loop.is_running()


async def test_owner_sync_here(services: Services) -> None:
    bot = fake_bot(services)
    bot.tree = create_autospec(discord.app_commands.CommandTree, instance=True)
    synced = [MagicMock(), MagicMock()]
    for mock, name in zip(synced, ("ask", "add"), strict=True):
        mock.name = name
    bot.tree.sync.return_value = synced
    cog = AdminCog(bot)
    context = create_autospec(commands.Context, instance=True)
    context.guild = create_autospec(discord.Guild, instance=True)
    context.guild.id = 10
    context.message = fake_message("!sync here")
    await cog.sync.callback(cog, context, "here")  # type: ignore[call-arg, arg-type]
    bot.tree.copy_global_to.assert_called_once()
    text = context.message.channel.send.await_args.kwargs["content"]
    assert text == "Synced 2 commands to this server: /ask, /add"


async def test_reload_tick_reloads_and_prunes_daily(services: Services) -> None:
    now = [1000.0]
    services.clock = lambda: now[0]
    bot = NewsdeskBot(services)
    calls: list[str] = []
    services.engines.reload_all_if_changed = lambda: calls.append("reload") or 0  # type: ignore[method-assign, func-returns-value]
    services.forget_old_answers = lambda: calls.append("prune") or 0  # type: ignore[method-assign, func-returns-value]
    await bot._reload_changed()
    now[0] += 86_400
    await bot._reload_changed()
    assert calls == ["reload", "reload", "prune"]
    await bot.close()
