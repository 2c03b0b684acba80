"""Discord misbehaving: 429s (with retry_after) and 5xx answers from the REST API are retried
and the reply still arrives; a dropped, closed or invalidated gateway connection is resumed
or re-identified, questions sent meanwhile are answered, and the bot keeps answering.

Every test ends with the E2E checks (tests/e2e/conftest.py): no ERROR logged, no unexpected
handler exception, no event-loop callback over 100 ms, no message that could ping anyone.
Refusals of management commands to members without the role: tests/e2e/test_manage.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, WAIT, Desk
from tests.fakediscord import FakeDiscord, FakeMessage, InteractionHandle
from tests.reliability.discord_side.world import bare_desk

pytestmark = pytest.mark.timeout(90)

MESSAGES = r"/channels/\d+/messages"
FOLLOWUP = r"/webhooks/\d+/[^/]+"  # the first followup after a deferred "thinking…"
CALLBACK = r"/interactions/\d+/[^/]+/callback"


def _cites_reuters(message: FakeMessage) -> None:
    assert message.embeds and message.embeds[0]["title"] == f"[1] {REUTERS_TITLE}", (
        message.content,
        message.embeds[:1],
    )


def _statuses(desk: Desk, method: str, path: str) -> list[int]:
    return [r.status for r in desk.fake.requests_matching(method, path)]


async def _slash_ask(desk: Desk) -> InteractionHandle:
    return await desk.slash(desk.alice, "ask", {"question": REUTERS_QUESTION})


@pytest.mark.parametrize("is_global", [False, True], ids=["route", "global"])
async def test_429_on_the_reply_is_retried(desk: Desk, is_global: bool) -> None:
    desk.fake.fail_next("POST", MESSAGES, status=429, retry_after=0.3, times=2, is_global=is_global)
    reply = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    _cites_reuters(reply)
    assert _statuses(desk, "POST", MESSAGES) == [429, 429, 200]


@pytest.mark.parametrize(("method", "path"), [("POST", CALLBACK), ("POST", FOLLOWUP)])
async def test_429_on_a_slash_answer_is_retried(desk: Desk, method: str, path: str) -> None:
    desk.fake.fail_next(method, path, status=429, retry_after=0.3, times=1)
    handle = await _slash_ask(desk)
    _cites_reuters(handle.followups[0])
    assert _statuses(desk, method, path)[:2] == [429, 200]


@pytest.mark.slow
@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_errors_on_the_reply_are_retried(desk: Desk, status: int) -> None:
    """discord.py waits 1 s, then tries again (up to five times)."""
    desk.fake.fail_next("POST", MESSAGES, status=status, times=1)
    reply = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    _cites_reuters(reply)
    assert _statuses(desk, "POST", MESSAGES) == [status, 200]


async def test_503_on_the_reply_is_retried(fake_discord: FakeDiscord, workspace: Path) -> None:
    async with bare_desk(fake_discord, workspace) as desk:
        desk.fake.fail_next("POST", MESSAGES, status=503, times=1)
        reply = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    _cites_reuters(reply)
    assert _statuses(desk, "POST", MESSAGES) == [503, 200]  # retried by bot/discord_app


@pytest.mark.slow
async def test_server_error_on_a_slash_answer_is_retried(desk: Desk) -> None:
    desk.fake.fail_next("POST", FOLLOWUP, status=500, times=1)
    handle = await _slash_ask(desk)
    _cites_reuters(handle.followups[0])
    assert _statuses(desk, "POST", FOLLOWUP)[:2] == [500, 200]


@pytest.mark.parametrize("code", [None, 1001, 4000], ids=["tcp-abort", "going-away", "4000"])
async def test_dropped_gateway_is_resumed_and_questions_meanwhile_answered(
    desk: Desk, code: int | None
) -> None:
    await desk.fake.drop_gateway_connection(code)
    # Sent while the bot is disconnected: replayed to it when it resumes.
    during = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    await desk.fake.wait_for_resumes(1, timeout=WAIT)
    _cites_reuters(during)
    _cites_reuters(await desk.say(desk.editor, f"!ask {REUTERS_QUESTION}"))
    _cites_reuters((await _slash_ask(desk)).followups[0])
    assert desk.fake.gateway.identify_count == 1  # resumed, not a new session


async def test_reconnect_request_is_resumed(desk: Desk) -> None:
    await desk.fake.send_reconnect()
    await desk.fake.wait_for_resumes(1, timeout=WAIT)
    _cites_reuters(await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}"))


@pytest.mark.slow
async def test_invalidated_session_is_identified_again(desk: Desk) -> None:
    """Not resumable: discord.py waits about 5 s, then identifies a new session."""
    await desk.fake.invalidate_session(resumable=False)
    await desk.fake.wait_until(
        lambda: desk.fake.gateway.identify_count >= 2 and desk.fake.gateway.connected,
        timeout=30,
        description="a second IDENTIFY",
    )
    await desk.fake.wait_until(desk.bot.is_ready, timeout=WAIT, description="READY again")
    _cites_reuters(await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}"))
    _cites_reuters((await _slash_ask(desk)).followups[0])


async def test_drops_and_rate_limits_together(make_desk: MakeDesk) -> None:
    """Several of them in a row, questions all along: every one is answered once."""
    desk = await make_desk()
    replies = []
    for round_number in range(3):
        desk.fake.fail_next("POST", MESSAGES, status=429, retry_after=0.2, times=1)
        await desk.fake.drop_gateway_connection()
        replies.append(await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}"))
        await desk.fake.wait_for_resumes(round_number + 1, timeout=WAIT)
        replies.append((await _slash_ask(desk)).followups[0])
    for reply in replies:
        _cites_reuters(reply)
    answers = [m for m in desk.bot_messages() if m.embeds]
    assert len(answers) == len(replies)  # no reply lost, none sent twice
