"""The pure rules: cooldown, who may manage, which messages are questions, which errors show."""

from __future__ import annotations

import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cooldown import Cooldown
from bot.discord_app.errors import (
    APOLOGY,
    CooldownError,
    NotAllowedError,
    is_expected,
    unwrap,
    user_message,
)
from bot.discord_app.permissions import AdminRule
from bot.discord_app.questions import question_in_message
from retrieval.errors import BadArticleError, FetchError

pytestmark = pytest.mark.timeout(30)

BOT = 987654321987654321


def test_cooldown_per_key_and_off() -> None:
    cooldown = Cooldown(10)
    assert cooldown.retry_after("alice", now=100.0) == 0
    assert cooldown.retry_after("alice", now=104.0) == pytest.approx(6.0)
    assert cooldown.retry_after("bob", now=104.0) == 0
    assert cooldown.retry_after("alice", now=110.0) == 0  # refused asks don't extend it
    off = Cooldown(0)
    assert all(off.retry_after("alice", now=1.0) == 0 for _ in range(5))


def test_cooldown_forgets_expired_entries() -> None:
    cooldown = Cooldown(1)
    for n in range(10_001):
        cooldown.retry_after(n, now=float(n))
    assert len(cooldown._last) < 10


def test_cooldown_message_rounds_up() -> None:
    assert str(CooldownError(0.2)) == "You're asking quickly. Please try again in 1 s."
    assert str(CooldownError(4.01)) == "You're asking quickly. Please try again in 5 s."


@pytest.mark.parametrize(
    ("rule", "manage", "roles", "allowed"),
    [
        (AdminRule(), True, [], True),
        (AdminRule(), False, [(1, "editors")], False),
        (AdminRule(role_name="Editors"), False, [(1, "editors")], True),
        (AdminRule(role_id=7), False, [(7, "whatever")], True),
        (AdminRule(role_id=7, role_name="editors"), False, [(8, "readers")], False),
    ],
)
def test_admin_rule(
    rule: AdminRule, manage: bool, roles: list[tuple[int, str]], allowed: bool
) -> None:
    assert rule.allows(manage_guild=manage, roles=roles) is allowed


def test_refusal_names_who_may() -> None:
    assert AdminRule().refusal("add articles") == (
        "Sorry, only members with the Manage Server permission can add articles."
    )
    assert AdminRule(role_name="news_team").refusal("reindex") == (
        "Sorry, only members with the Manage Server permission or the news\\_team role can reindex."
    )


@pytest.mark.parametrize(
    ("content", "kwargs", "expected"),
    [
        ("what is oxygen?", {}, None),  # an ordinary channel, no mention
        ("what is oxygen?", {"channel_id": 5}, "what is oxygen?"),  # an answer channel
        (f"<@{BOT}> what is oxygen?", {}, "what is oxygen?"),
        (f"hey <@!{BOT}>   what is  oxygen?", {}, "hey what is oxygen?"),
        (f"<@{BOT}>", {}, ""),  # asked for a question
        ("!ask what is oxygen?", {"channel_id": 5}, None),  # left to the command
        ("what is oxygen?", {"channel_id": 5, "author_is_bot": True}, None),
        (f"<@{BOT}> hi", {"author_is_bot": True}, None),
        ("   ", {"channel_id": 5}, None),
        ("<@123> what is oxygen?", {}, None),  # someone else mentioned
        ("<@&77> what is oxygen?", {"bot_role_id": 77}, "what is oxygen?"),  # the bot's role
        ("<@&78> what is oxygen?", {"bot_role_id": 77}, None),
        ("what is oxygen?", {"is_dm": True}, "what is oxygen?"),  # a DM with the bot
        ("!ask what is oxygen?", {"is_dm": True}, None),
    ],
)
def test_question_in_message(content: str, kwargs: dict[str, object], expected: str | None) -> None:
    options: dict[str, object] = {
        "author_is_bot": False,
        "bot_id": BOT,
        "prefix": "!",
        "channel_id": 4,
        "answer_channels": {5},
    }
    options.update(kwargs)
    assert question_in_message(content, **options) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (NotAllowedError("Sorry, no."), "Sorry, no."),
        (FetchError("example.org answered HTTP 404"), "example.org answered HTTP 404"),
        (BadArticleError("Attach a .txt file."), "Attach a .txt file."),
        (commands.NotOwner(), "Only the bot's owner can do that."),
        (app_commands.NoPrivateMessage(), "That works only in a server."),
        (commands.BadArgument(), "I couldn't read that command; please check its arguments."),
    ],
)
def test_expected_errors_have_short_messages(error: Exception, text: str) -> None:
    assert user_message(error) == text
    assert is_expected(error)


def test_wrapped_errors_are_unwrapped_and_bugs_have_no_message() -> None:
    inner = NotAllowedError("Sorry, no.")
    wrapped = commands.CommandInvokeError(inner)
    assert unwrap(wrapped) is inner and user_message(wrapped) == "Sorry, no."
    bug = commands.CommandInvokeError(KeyError("boom"))
    assert user_message(bug) is None and not is_expected(bug)
    assert "log" in APOLOGY
