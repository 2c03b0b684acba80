"""Starting the bot: one clear line and an exit code for every way it can't start."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import discord
import discord.gateway
import discord.http
import pytest
from click.testing import CliRunner

import bot.chat
import bot.discord_app.runner
from bot.cli.app import cli
from bot.discord_app.runner import BAD_TOKEN, NO_INTENT, RedactToken, point_at
from bot.settings import NO_TOKEN
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings
from tests.bot.conftest import make_bot_settings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def restore_endpoints() -> Iterator[None]:
    route, websocket = discord.http.Route, discord.gateway.DiscordWebSocket
    saved = route.BASE, websocket.DEFAULT_GATEWAY
    yield
    route.BASE, websocket.DEFAULT_GATEWAY = saved


def _run(settings: RetrievalSettings, *args: str) -> Any:
    """`newsdesk run ARGS` on these settings' folders, in-process (exit codes as raised)."""
    folders = ["--index-dir", str(settings.index_dir), "--articles-dir", str(settings.articles_dir)]
    return cli.main([*folders, "--model", settings.model, "run", *args], standalone_mode=False)


def test_missing_token_exits_2_with_one_line(
    settings: RetrievalSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run(settings)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {NO_TOKEN}"]


def test_missing_token_with_or_chat_builds_the_missing_index_and_opens_the_chat(
    settings: RetrievalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings.articles_dir / "otters.md").write_text("# Otters\n\nOtters use stones as tools.\n")
    opened: list[Engine] = []
    monkeypatch.setattr(bot.chat, "run_chat", lambda engine, s: opened.append(engine))
    _run(settings, "--or-chat")
    [engine] = opened
    assert engine.status().articles == 1  # the missing index was built from the folder


def test_invalid_setting_exits_2(
    settings: RetrievalSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_ASK_COOLDOWN_SECONDS", "soon")
    with pytest.raises(SystemExit) as exit_info:
        _run(settings)
    assert exit_info.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: invalid settings: DISCORD_ASK_COOLDOWN_SECONDS:")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (discord.LoginFailure("Improper token has been passed."), BAD_TOKEN),
        (discord.PrivilegedIntentsRequired(None), NO_INTENT),
    ],
)
def test_rejected_login_exits_1(
    settings: RetrievalSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_endpoints: None,
    error: Exception,
    message: str,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")

    async def refused(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(bot.discord_app.runner, "serve", refused)
    with pytest.raises(SystemExit) as exit_info:
        _run(settings)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"error: {message}"
    assert "secret-token-value" not in err


def test_point_at_redirects_discord_py(restore_endpoints: None) -> None:
    settings = make_bot_settings(
        api_base="http://127.0.0.1:8080/api/v10/", gateway_url="ws://127.0.0.1:8080/"
    )
    point_at(settings)
    assert discord.http.Route.BASE == "http://127.0.0.1:8080/api/v10"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:8080/"
    assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:8080/api/v10/users/@me"


def test_token_is_redacted_from_log_lines() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", ("Bot s3cr3t",), None)
    assert RedactToken("s3cr3t").filter(record)
    assert record.getMessage() == "sent Bot **********"


def test_cli_has_sync_commands_and_run_refuses_without_token(settings: RetrievalSettings) -> None:
    runner = CliRunner()
    help_text = runner.invoke(cli, ["sync-commands", "--help"]).output
    assert "--guild" in help_text and "slash commands" in help_text
    result = runner.invoke(cli, ["sync-commands"])
    assert result.exit_code == 2 and NO_TOKEN in result.output
    result = runner.invoke(cli, ["--index-dir", str(settings.index_dir), "run"])
    assert result.exit_code == 2 and NO_TOKEN in result.output
