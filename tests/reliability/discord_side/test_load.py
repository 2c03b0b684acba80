"""Load through the fake Discord: 50 members ask at once (1,050 questions by `!ask`, `/ask`,
@mention and the answer channel, some of them hostile) while an admin adds 20 articles and an
editor runs one /reindex.

Held: every question gets a reply that cites articles (zero failures), nothing is logged at
ERROR and no handler sees an exception, newsdesk never stalls the event loop over 250 ms (a
ticker measures its lag) nor the gateway heartbeats' rhythm, no reply can ping anyone, and
every question about an added article asked after its add was confirmed cites that article.

Stalls are judged by tests/loop_stalls.py, against a control process that reads the kernel's
account of the bot's threads while the test runs (the rule is written down there):
- a callback (a task's step) that runs over 250 ms fails the test unless the machine kept the
  loop from a CPU (the loop thread, or the GIL's holder while the loop waited for the GIL)
  for all of the excess;
- a tick or heartbeat over 250 ms late fails it unless the machine kept the loop from a CPU
  for at least 100 ms meanwhile (what piles up while the process waits is late too; every
  callback in it is still judged by the first rule).
So the test passes while other jobs keep both cores busy, and a stall newsdesk causes still
fails it (test_a_blocked_loop_fails_the_check). `pytest -m load` runs these two alone.

The latency percentiles and both lag series are printed (`-s`) for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.discord_app import answering, embeds
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, Desk, LogRecorder
from tests.fakediscord import FakeDiscord, FakeMessage, InteractionHandle
from tests.loop_stalls import (
    Callbacks,
    Lag,
    MachineObserver,
    Sample,
    Ticker,
    Verdict,
    assert_no_stalls,
    judge,
    machine_delay,
    spread,
)
from tests.reliability import corpus
from tests.reliability.discord_side.world import bare_desk

pytestmark = [pytest.mark.load, pytest.mark.timeout(300)]
logger = logging.getLogger(__name__)

SEED = 5
USERS = 50
QUESTIONS_PER_USER = 21  # 1,050 in all
ADDS = 20
FIRST_ADDED = 1000  # corpus numbers of the added articles
REINDEX_AFTER = 8  # adds confirmed before the editor's /reindex
DISCORD_TROUBLE_AFTER = 12  # adds confirmed before the 429s and the dropped connection
MAX_STALL = 0.25
# Each member pauses 0-2 s (1 s on average) between getting an answer and asking again: 50 of
# them then ask about 25 questions a second, as many as Discord's global limit of 50 requests
# a second lets a bot answer (each answer takes two: typing or defer, then the reply).
THINK_SECONDS = float(os.environ.get("LOAD_TEST_THINK_SECONDS", "1.0"))
REPLY_TIMEOUT = 60.0
BLOCK_SECONDS = 0.4  # the injected stall
# A tick or heartbeat late while the machine kept the loop from a CPU for this long may be
# late for the backlog that piled up meanwhile; every callback in it is still judged.
BACKLOG_EXCUSE = 0.1
ROUTES = ("prefix", "slash", "mention", "answer channel")
ORIGINALS = [
    (REUTERS_QUESTION, REUTERS_TITLE),
    ("What was the 1973 oil embargo?", "1973 oil crisis"),
    ("How did the Black Death spread?", "Black Death"),
    ("Who won Super Bowl 50?", "Super Bowl 50"),
    ("What is a prime number?", "Prime number"),
]
HOSTILE = [
    "@everyone @here what did Kerry want from the Moscow talks?",
    "```\nKerry Moscow talks\n```",
    "<@&{role}> Kerry Moscow talks [x](javascript:alert(1))",
    "**Kerry** _Moscow_ > talks ~~Putin~~ ||spoiler||",
]


@dataclass
class Question:
    user: str
    route: str
    text: str
    expect: str | None  # a title the first citation must carry (None: any citation)
    added: int | None  # corpus number of an added article it is about
    sent: float = 0.0
    latency: float = 0.0
    problem: str | None = None


@dataclass
class LoadState:
    confirmed: dict[int, float] = field(default_factory=dict)  # corpus number -> when
    covered: set[int] = field(default_factory=set)  # asked about after confirmation
    admin_done: bool = False
    dropped_at: float = 0.0  # when the gateway connection was dropped
    reindex_reply: str = ""


class Replies:
    """One poller resolves every pending reply: 50 concurrent wait_for_message calls would
    each rescan the whole channel on every change, and stall the loop themselves."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.bot_id = fake.bot_user.id
        self._seen = 0
        self._to_message: dict[str, asyncio.Future[FakeMessage]] = {}
        self._to_slash: list[tuple[InteractionHandle, asyncio.Future[FakeMessage]]] = []

    def message(self, sent: FakeMessage) -> asyncio.Future[FakeMessage]:
        future: asyncio.Future[FakeMessage] = asyncio.get_running_loop().create_future()
        self._to_message[str(sent.id)] = future
        return future

    def slash(self, handle: InteractionHandle) -> asyncio.Future[FakeMessage]:
        future: asyncio.Future[FakeMessage] = asyncio.get_running_loop().create_future()
        self._to_slash.append((handle, future))
        return future

    async def run(self) -> None:
        while True:
            self._poll()
            await asyncio.sleep(0.005)

    def _poll(self) -> None:
        messages = self.fake.world.messages
        for message in itertools.islice(messages.values(), self._seen, None):
            self._seen += 1
            if message.author_id != self.bot_id:
                continue
            reference = (message.payload.get("message_reference") or {}).get("message_id")
            future = self._to_message.pop(str(reference), None) if reference else None
            if future is not None and not future.done():
                future.set_result(message)
        waiting = []
        for handle, future in self._to_slash:
            if handle.followups and not future.done():
                future.set_result(handle.followups[0])
            elif not future.done():
                waiting.append((handle, future))
        self._to_slash = waiting


def _check_reply(question: Question, reply: FakeMessage) -> str | None:
    if not reply.embeds:
        return f"no citations: {reply.content[:120]!r}"
    first = reply.embeds[0]["title"]
    if question.expect is not None and question.expect not in first:
        titles = [e["title"] for e in reply.embeds]
        return f"expected {question.expect!r} first, got {titles}"
    return None


async def _ask(desk: Desk, replies: Replies, member: Any, question: Question) -> None:
    fake = desk.fake
    question.sent = time.monotonic()
    if question.route == "slash":
        handle = fake.send_slash_command(desk.channel, member, "ask", {"question": question.text})
        pending = replies.slash(handle)
    else:
        channel, content = desk.channel, question.text
        if question.route == "prefix":
            content = f"!ask {question.text}"
        elif question.route == "mention":
            content = f"<@{fake.bot_user.id}> {question.text}"
        else:
            channel = desk.answers
        pending = replies.message(fake.send_user_message(channel, member, content))
    try:
        reply = await asyncio.wait_for(pending, timeout=REPLY_TIMEOUT)
    except TimeoutError:
        question.problem = "no reply"
        return
    question.latency = time.monotonic() - question.sent
    question.problem = _check_reply(question, reply)


def _pick(rng: random.Random, user: str, state: LoadState, role_id: int) -> Question:
    """A question: about an added article (once it is confirmed), hostile, or an original."""
    route = rng.choice(ROUTES)
    roll = rng.random()
    if state.confirmed and roll < 0.45:
        uncovered = [n for n in state.confirmed if n not in state.covered]
        number = rng.choice(uncovered if uncovered and roll < 0.2 else list(state.confirmed))
        state.covered.add(number)
        return Question(user, route, corpus.question(number), corpus.marker(number), number)
    if roll < 0.5:
        text = rng.choice(HOSTILE).format(role=role_id)
        return Question(user, route, text, REUTERS_TITLE, None)
    text, title = rng.choice(ORIGINALS)
    return Question(user, route, text, title, None)


async def _user(
    desk: Desk,
    replies: Replies,
    member: Any,
    rng: random.Random,
    state: LoadState,
    asked: list[Question],
    role_id: int,
) -> None:
    count = 0
    while (
        count < QUESTIONS_PER_USER or not state.admin_done or state.covered != set(state.confirmed)
    ):
        await asyncio.sleep(rng.uniform(0.0, 2 * THINK_SECONDS))
        question = _pick(rng, member.user.username, state, role_id)
        asked.append(question)
        await _ask(desk, replies, member, question)
        count += 1


async def _admin(desk: Desk, replies: Replies, rng: random.Random, state: LoadState) -> None:
    reindex: asyncio.Task[None] | None = None
    for number in range(FIRST_ADDED, FIRST_ADDED + ADDS):
        article = corpus.article(number)
        handle = desk.fake.send_slash_command(
            desk.channel, desk.admin, "add", {"title": article.title, "text": article.text}
        )
        reply = await asyncio.wait_for(replies.slash(handle), timeout=REPLY_TIMEOUT)
        assert reply.content.startswith(f"Added “{article.title}”"), reply.content
        state.confirmed[number] = time.monotonic()
        if len(state.confirmed) == REINDEX_AFTER:
            reindex = asyncio.create_task(_reindex(desk, replies, state))
        if len(state.confirmed) == DISCORD_TROUBLE_AFTER:
            # Discord acts up mid-load: replies rate limited, the gateway connection lost.
            desk.fake.fail_next("POST", r"/channels/\d+/messages", retry_after=0.2, times=3)
            desk.fake.fail_next("POST", r"/webhooks/\d+/[^/]+", retry_after=0.2, times=2)
            state.dropped_at = time.monotonic()
            await desk.fake.drop_gateway_connection()
        await asyncio.sleep(rng.uniform(0.1, 0.5))
    assert reindex is not None
    await reindex
    state.admin_done = True


async def _reindex(desk: Desk, replies: Replies, state: LoadState) -> None:
    handle = desk.fake.send_slash_command(desk.channel, desk.editor, "reindex")
    reply = await asyncio.wait_for(replies.slash(handle), timeout=REPLY_TIMEOUT)
    state.reindex_reply = reply.content


async def _keep_the_harness_out_of_gc(period: float = 1.0) -> None:
    """The fake Discord, the 50 members and the control readings share the bot's process and
    keep every message, request and gateway event: by the end most of what a full garbage
    collection scans (~250 ms of CPU; ~50 ms without them). Frozen as they pile up, the way
    the runner freezes the bot's start-up heap, they don't stretch the bot's collections into
    stalls of the harness's making. (Whatever the bot holds at a freeze is not scanned again
    either; its own garbage still is.)"""
    while True:
        await asyncio.sleep(period)
        gc.freeze()


def _percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"p50 {cuts[49] * 1000:.0f} ms, p90 {cuts[89] * 1000:.0f} ms, "
        f"p99 {cuts[98] * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
    )


def _heartbeat_samples(
    beats: list[float], started: float, ended: float, interval: float, dropped_at: float
) -> list[Sample]:
    """Each heartbeat as a sample due `interval` after the one before it (the first after
    the start; then the silence after the last one), the reconnect's gap left out."""
    due_from = [started, *beats]
    samples = [
        Sample(a + interval, b) for a, b in zip(due_from, beats, strict=False)
        if not a <= dropped_at <= b
    ]  # fmt: skip
    return [*samples, Sample(due_from[-1] + interval, ended)]


def _judged(
    lag: Lag, callbacks: Callbacks, heartbeats: list[Sample], machine: MachineObserver
) -> tuple[Verdict, Verdict, list[str]]:
    """What the control process saw, against the loop's callbacks (did one block it?) and
    its ticks and heartbeats (did it fall behind?)."""
    observations = machine.window(lag.start, lag.end)
    blocking = judge(callbacks.samples, observations, limit=MAX_STALL)
    behind = judge(
        [*lag.samples, *heartbeats], observations, limit=MAX_STALL, excuse=BACKLOG_EXCUSE
    )
    waited = machine_delay(observations, lag.start, lag.end)
    longest = sorted(zip(callbacks.samples, callbacks.names, strict=True), key=lambda c: -c[0].late)
    return (
        blocking,
        behind,
        [
            spread("event loop lag (10 ms ticker)", [s.late for s in lag.samples]),
            spread("control process lateness", [o.late for o in observations]),
            f"the machine kept the loop from a CPU {waited:.1f}s of {lag.end - lag.start:.1f}s",
            "longest callbacks: "
            + ", ".join(f"{n} {c.late * 1000:.0f} ms" for c, n in longest[:5]),
            "blocking callbacks: " + blocking.describe().replace("\n", "\n   "),
            "late ticks and heartbeats: " + behind.describe().replace("\n", "\n   "),
        ],
    )


@pytest.mark.slow
async def test_fifty_users_ask_while_articles_are_added_and_reindexed(
    fake_discord: FakeDiscord,
    workspace: Path,
    bot_logs: LogRecorder,
    settled_heap: None,
    machine: MachineObserver,
) -> None:
    fake = fake_discord
    rng = random.Random(SEED)
    state = LoadState()
    asked: list[Question] = []
    replies = Replies(fake)
    assert threading.get_native_id() == machine.loop_thread

    async with bare_desk(fake, workspace) as desk:
        reporters = fake.add_role(desk.guild, "reporters", mentionable=True)
        members = [fake.add_member(desk.guild, f"user{i:02d}") for i in range(USERS)]
        poller = asyncio.create_task(replies.run())
        freezer = asyncio.create_task(_keep_the_harness_out_of_gc())
        heartbeats_before = len(fake.heartbeats)
        try:
            with Callbacks().recording() as callbacks:
                async with Ticker().running() as lag:
                    await asyncio.gather(
                        _admin(desk, replies, random.Random(rng.random()), state),
                        *(
                            _user(
                                desk, replies, m, random.Random(rng.random()), state, asked,
                                reporters.id,
                            )
                            for m in members
                        ),
                    )  # fmt: skip
        finally:
            poller.cancel()
            freezer.cancel()
            await asyncio.gather(poller, freezer, return_exceptions=True)
        seconds = lag.end - lag.start
        beats = [h.at for h in fake.heartbeats[heartbeats_before:]]

    failed = [q for q in asked if q.problem is not None]
    latencies = [q.latency for q in asked if q.problem is None]
    after_confirmed = [
        q for q in asked if q.added is not None and q.sent > state.confirmed[q.added]
    ]
    # While the connection is down there are no heartbeats: that gap is the reconnect's.
    gaps = [b - a for a, b in itertools.pairwise(beats) if not a <= state.dropped_at <= b]
    interval = fake.gateway.heartbeat_interval_ms / 1000
    heartbeats = _heartbeat_samples(beats, lag.start, lag.end, interval, state.dropped_at)
    blocking, behind, stalls = _judged(lag, callbacks, heartbeats, machine)
    summary = [
        f"{len(asked)} questions from {USERS} users in {seconds:.1f}s "
        f"({len(asked) / seconds:.0f}/s), {len(failed)} failed; "
        f"{len(state.confirmed)} adds and 1 reindex confirmed meanwhile",
        f"latency all: {_percentiles(latencies)}",
        *(
            f"latency {route}: "
            + _percentiles([q.latency for q in asked if q.route == route and not q.problem])
            for route in ROUTES
        ),
        f"questions about added articles after their add was confirmed: {len(after_confirmed)}, "
        f"all citing it: {all(q.problem is None for q in after_confirmed)}",
        *stalls,
        f"heartbeats: {len(beats)}, interval {interval:.1f}s, largest gap {max(gaps):.2f}s; "
        f"gateway resumed {fake.gateway.resume_count}x after the drop, "
        f"{sum(r.status == 429 for r in fake.requests)} replies rate limited (429) and retried",
        f"routes: {dict(Counter(q.route for q in asked))}",
    ]
    print("\nload test:\n  " + "\n  ".join(summary))
    logger.warning("load test: %s", " | ".join(summary))

    assert len(asked) >= USERS * QUESTIONS_PER_USER >= 1000
    assert not failed, [(q.route, q.text[:60], q.problem) for q in failed[:10]]
    assert len(state.confirmed) == ADDS
    assert state.reindex_reply.startswith("Reindexed the shared collection"), state.reindex_reply
    assert {q.added for q in after_confirmed} == set(state.confirmed)  # every add was asked
    assert desk.errors.seen == []
    assert not bot_logs.records, bot_logs.messages()
    # No callback ran over MAX_STALL of newsdesk's own time; no tick, heartbeat (nor silence
    # before the first or after the last) was over MAX_STALL late without the machine's doing.
    assert_no_stalls(blocking, "the bot's event loop")
    assert_no_stalls(behind, "the bot's event loop")
    assert len(heartbeats) >= 2 and fake.gateway.resume_count >= 1
    assert fake.gateway.identify_count == 1
    desk.assert_no_mentions()
    engine = desk.services.engines.opened()[0].engine
    assert engine.status().articles == 13 + ADDS


async def test_a_blocked_loop_fails_the_check(
    fake_discord: FakeDiscord,
    workspace: Path,
    bot_logs: LogRecorder,
    settled_heap: None,
    machine: MachineObserver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above is not blind: one answer built after a 400 ms time.sleep (the bot
    builds its embeds on the loop) is a stall it counts, busy machine or not, since the
    loop thread sleeps instead of waiting for a CPU."""
    blocked: list[tuple[float, float]] = []
    real = embeds.answer_embeds  # what answering calls, before the patch

    def blocking_once(*args: Any, **kwargs: Any) -> Any:
        if not blocked:
            started = time.monotonic()
            time.sleep(BLOCK_SECONDS)
            blocked.append((started, time.monotonic()))
        return real(*args, **kwargs)

    monkeypatch.setattr(answering, "answer_embeds", blocking_once)
    replies = Replies(fake_discord)
    asked = [Question("asker", "prefix", text, title, None) for text, title in ORIGINALS[:3]]
    async with bare_desk(fake_discord, workspace) as desk:
        member = fake_discord.add_member(desk.guild, "asker")
        poller = asyncio.create_task(replies.run())
        try:
            with Callbacks().recording() as callbacks:
                async with Ticker().running() as lag:
                    for question in asked:
                        await _ask(desk, replies, member, question)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
    blocking, _, stalls = _judged(lag, callbacks, [], machine)
    print("\ninjected stall:\n  " + "\n  ".join(stalls))

    assert [q.problem for q in asked] == [None, None, None]
    [(began, ended)] = blocked
    [(stall, delay)] = [(s, d) for s, d in blocking.counted if s.start <= began and ended <= s.end]
    assert stall.late >= BLOCK_SECONDS and delay < stall.late - MAX_STALL
    with pytest.raises(AssertionError, match="the bot's event loop blocked"):
        assert_no_stalls(blocking, "the bot's event loop")
    assert not bot_logs.records, bot_logs.messages()
