"""Logging in: the bot connects without syncing commands; `sync-commands` and `python -m bot`
work against the fake; a missing or rejected token is one line and a non-zero exit."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from pathlib import Path

import pytest

from bot.discord_app.errors import GuildOnlyError
from bot.discord_app.runner import sync_tree
from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import ARTICLES, REUTERS_QUESTION, REUTERS_TITLE, WAIT
from tests.environment import child_env
from tests.fakediscord import CLIENT_OPTIONS, FakeDiscord

pytestmark = pytest.mark.timeout(90)
COMMANDS = {"ask", "add", "remove", "sources", "status", "reindex", "feed", "Find evidence", "gaps"}
MESSAGE_CONTENT_INTENT = 1 << 15


async def test_login_connects_without_syncing(make_desk: MakeDesk) -> None:
    desk = await make_desk(sync=False)
    assert desk.bot.is_ready() and desk.bot.user is not None
    assert desk.bot.user.id == desk.fake.bot_user.id
    assert desk.bot.get_guild(desk.guild.id) is not None
    intents = desk.fake.gateway.identify_payloads[0]["intents"]
    assert intents & MESSAGE_CONTENT_INTENT
    assert desk.fake.registered_commands == {} or not any(desk.fake.registered_commands.values())
    assert desk.fake.requests_matching("PUT", r"/applications/.*") == []


async def test_slash_commands_only_without_message_content(make_desk: MakeDesk) -> None:
    desk = await make_desk(message_content=False)
    intents = desk.fake.gateway.identify_payloads[-1]["intents"]
    assert not intents & MESSAGE_CONTENT_INTENT
    handle = await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})
    assert handle.followups[0].embeds[0]["title"] == f"[1] {REUTERS_TITLE}"


async def test_sync_commands_globally_and_to_one_guild(make_desk: MakeDesk) -> None:
    desk = await make_desk(sync=False)
    synced = await sync_tree(desk.services, desk.fake.token, None, **CLIENT_OPTIONS)
    assert {c.name for c in synced} == COMMANDS
    assert {c["name"] for c in desk.fake.registered_commands[None]} == COMMANDS
    ask = next(c for c in desk.fake.registered_commands[None] if c["name"] == "ask")
    assert ask["options"][0]["name"] == "question" and ask["options"][0]["required"]
    # Installable to users and usable everywhere; management only in servers that have it.
    by_name = {c["name"]: c for c in desk.fake.registered_commands[None]}
    assert by_name["ask"]["integration_types"] == [0, 1]
    assert by_name["ask"]["contexts"] == [0, 1, 2]
    assert by_name["Find evidence"]["type"] == 3
    assert by_name["Find evidence"]["integration_types"] == [0, 1]
    assert by_name["Find evidence"]["contexts"] == [0, 1, 2]
    for name in ("add", "remove", "reindex", "feed"):
        assert by_name[name]["integration_types"] == [0], name
        assert by_name[name]["contexts"] == [0], name
    for name in ("sources", "status"):
        assert by_name[name]["integration_types"] == [0], name
        assert by_name[name]["contexts"] == [0, 1], name
    await sync_tree(desk.services, desk.fake.token, desk.guild.id, **CLIENT_OPTIONS)
    assert {c["name"] for c in desk.fake.registered_commands[desk.guild.id]} == COMMANDS


async def test_per_guild_collections_are_separate(make_desk: MakeDesk) -> None:
    desk = await make_desk(per_guild_collections=True)
    other = desk.fake.add_guild("Elsewhere")
    bob = desk.fake.add_member(other, "bob", permissions=desk.admin_permissions)
    await desk.fake.wait_until(lambda: desk.bot.get_guild(other.id), timeout=WAIT)

    added = await desk.slash(
        desk.admin, "add", {"title": "Tram line opens", "text": "The new tram line opens in May."}
    )
    assert added.followups[0].content.startswith("Added “Tram line opens”")
    guild_folder = desk.services.settings.articles_dir / "guilds" / str(desk.guild.id)
    assert (guild_folder / "tram-line-opens.md").exists()

    here = await desk.slash(desk.alice, "ask", {"question": "When does the tram line open?"})
    assert here.followups[0].embeds[0]["title"] == "[1] Tram line opens"
    there = await desk.slash(
        bob, "ask", {"question": "When does the tram line open?"}, channel=other.text_channels[0]
    )
    assert there.followups[0].embeds == []  # an empty collection of its own
    status = await desk.slash(bob, "status", channel=other.text_channels[0])
    assert "this server's collection" in status.followups[0].content
    assert "Articles: 0" in status.followups[0].content

    dm = desk.fake.dm_channel(desk.alice)
    private = await desk.slash(desk.alice, "ask", {"question": "trams?"}, channel=dm)
    assert private.followups[0].content == GuildOnlyError().args[0]
    assert desk.errors.expected_types() == [GuildOnlyError]


# -- the real entry point, in a subprocess ----------------------------------------------------


def bot_env(tmp: Path, **extra: str) -> dict[str, str]:
    return child_env(NEWSDESK_MODEL="hashing", **extra)


async def run_module(tmp: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=tmp, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.slow
async def test_missing_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    process = await run_module(tmp_path, bot_env(tmp_path))
    _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        "error: DISCORD_TOKEN is not set: put it in .env (see .env.example) or the environment"
    ]


@pytest.mark.slow
async def test_python_m_bot_logs_in_builds_missing_index_and_stops_on_sigterm(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake_discord.add_guild("Newsroom")
    shutil.copytree(ARTICLES, tmp_path / "articles")
    env = bot_env(
        tmp_path,
        DISCORD_TOKEN=fake_discord.token,
        DISCORD_API_BASE=fake_discord.api_url,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
        NEWSDESK_ARTICLES_DIR=str(tmp_path / "articles"),
        NEWSDESK_INDEX_DIR=str(tmp_path / "index"),  # missing: built at start
    )
    process = await run_module(tmp_path, env)
    try:
        await fake_discord.wait_until(
            lambda: fake_discord.gateway.identify_count >= 1 or process.returncode is not None,
            timeout=60,
            description="the bot to identify",
        )
        assert process.returncode is None
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = err.decode()
    assert process.returncode == 0, log
    assert "no index in" in log and "building it from" in log
    assert "index built:" in log and "serving 13 articles" in log
    assert fake_discord.token not in log + out.decode()
    assert (tmp_path / "index" / "current.json").exists()


@pytest.mark.slow
async def test_rejected_token_is_one_line_and_exit_1(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    shutil.copytree(ARTICLES, tmp_path / "articles")
    env = bot_env(
        tmp_path,
        DISCORD_TOKEN="not-the-token",
        DISCORD_API_BASE=fake_discord.api_url,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
        NEWSDESK_ARTICLES_DIR=str(tmp_path / "articles"),
        NEWSDESK_INDEX_DIR=str(tmp_path / "index"),
    )
    process = await run_module(tmp_path, env)
    _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    errors = [line for line in err.decode().splitlines() if line.startswith("error:")]
    assert errors == [
        "error: Discord rejected DISCORD_TOKEN (invalid token): copy it again from the portal"
    ]
    assert "not-the-token" not in err.decode()
    assert "Traceback" not in err.decode()
