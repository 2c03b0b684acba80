"""The Discord token never shows: not in the settings' repr/str/JSON, not in validation errors,
not in any log record of a whole session at DEBUG (login, questions, adds, a refused add, a
rate limit, a dropped gateway), not in the error of a rejected login. (The `python -m bot`
subprocess checks are in tests/e2e/test_login.py.)"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import discord
import pytest
from pydantic import SecretStr, ValidationError

from bot.compose import load_bot_settings
from bot.discord_app.client import NewsdeskBot
from bot.discord_app.runner import RedactToken, configure_bot_logging
from bot.settings import BotSettings
from tests.e2e.desk import REUTERS_QUESTION, WAIT, prepared_services, retrieval_settings
from tests.fakediscord import CLIENT_OPTIONS, FakeDiscord, FakeFile
from tests.reliability.discord_side.world import bare_desk

pytestmark = pytest.mark.timeout(90)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.SECRET.reliability-test-token-value"
# Every logger a session writes to, at DEBUG while the test runs.
LOGGERS = ("", "discord", "bot", "retrieval", "aiohttp", "asyncio", "tests")


class _Everything(logging.Handler):
    """Every record, formatted as a log file would hold it (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def _all_logs() -> Iterator[_Everything]:
    handler = _Everything()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [lg.level for lg in loggers]
    logging.getLogger().addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _secret_parts(token: str) -> list[str]:
    """The token and its distinctive pieces (a log that printed half of it leaks too)."""
    return [token, *(part for part in token.split(".") if len(part) >= 6)]


def _assert_hidden(text: str, token: str = TOKEN) -> None:
    for part in _secret_parts(token):
        assert part not in text, f"{part!r} leaked"


def test_settings_never_show_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = BotSettings(_env_file=None, token=SecretStr(TOKEN))  # type: ignore[call-arg]
    assert settings.token_value() == TOKEN
    for shown in (
        repr(settings),
        str(settings),
        f"{settings}",
        settings.model_dump_json(),
        json.dumps(settings.model_dump(mode="json")),
        repr(settings.model_dump()),
        repr(settings.token),
    ):
        _assert_hidden(shown)
    with pytest.raises(ValidationError) as info:
        BotSettings(_env_file=None, token=SecretStr(TOKEN), prefix="")  # type: ignore[call-arg]
    _assert_hidden(str(info.value))
    _assert_hidden(repr(info.value.errors()))


def test_invalid_settings_error_does_not_show_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("DISCORD_ASK_COOLDOWN_SECONDS", "soon")
    with pytest.raises(SystemExit):
        load_bot_settings()
    out = capsys.readouterr()
    assert "DISCORD_ASK_COOLDOWN_SECONDS" in out.err
    _assert_hidden(out.out + out.err)


def test_redaction_filter_is_a_second_line_of_defense() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        configure_bot_logging(TOKEN)
        logging.getLogger("bot.test").warning("a careless line with %s in it", TOKEN)
    finally:
        root.removeHandler(handler)
    assert any(isinstance(f, RedactToken) for f in handler.filters)
    assert "**********" in stream.getvalue()
    _assert_hidden(stream.getvalue())


async def test_a_whole_session_logs_no_token(
    fake_discord: FakeDiscord, workspace: Path, settled_heap: None
) -> None:
    token = fake_discord.token
    with _all_logs() as logs:
        async with bare_desk(fake_discord, workspace) as desk:
            services_repr = repr(desk.services)
            await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
            await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})
            await desk.slash(desk.admin, "add", {"title": "Trams", "text": "Trams run at six."})
            await desk.slash(desk.admin, "add", {"file": FakeFile("x.pdf", b"%PDF", "a/pdf")})
            desk.fake.fail_next("POST", r"/channels/\d+/messages", retry_after=0.1)
            await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
            await desk.fake.drop_gateway_connection()
            await desk.fake.wait_for_resumes(1, timeout=WAIT)
            await desk.say(desk.alice, "!ask ???")  # refused: an expected error, logged
    assert len(logs.lines) > 50  # DEBUG really was on: discord.py logs every request
    assert any("RESUME" in line for line in logs.lines)
    _assert_hidden("\n".join(logs.lines), token)
    _assert_hidden(services_repr, token)


async def test_a_rejected_login_does_not_show_the_token(
    fake_discord: FakeDiscord, workspace: Path
) -> None:
    bot_settings = BotSettings(  # type: ignore[call-arg]
        _env_file=None, token=SecretStr(TOKEN), api_base=fake_discord.api_url
    )
    services = await prepared_services(bot_settings, retrieval_settings(workspace))
    with _all_logs() as logs:
        async with NewsdeskBot(services, **CLIENT_OPTIONS) as bot:
            with pytest.raises(discord.LoginFailure) as info:
                await bot.login(TOKEN)
    _assert_hidden(str(info.value) + repr(info.value))
    _assert_hidden("\n".join(logs.lines))
