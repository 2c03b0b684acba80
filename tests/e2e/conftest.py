"""Fixtures for the end-to-end tests: the real bot, the fake Discord, a temporary index.

Every test runs with asyncio debug on and fails on any event-loop callback that takes over
100 ms of newsdesk's own time (the part the machine's other jobs cause is told apart by
tests/loop_stalls.py), on any ERROR logged by discord.py or the bot, on any unexpected
exception reaching tree.on_error / on_command_error, and on any bot message that could
mention someone.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.compose import Composition, OpenPolicy
from bot.discord_app.runner import settle_heap
from retrieval.embedding.factory import load_embedder
from tests.e2e.desk import (
    ARTICLES,
    Desk,
    HandlerErrors,
    LogRecorder,
    bot_settings,
    build_world,
    new_bot,
    prepared_services,
    retrieval_settings,
)
from tests.fakediscord import FakeDiscord, running_bot
from tests.fakediscord.plugin import discord_errors, fake_discord, no_external_network
from tests.loop_stalls import MachineObserver, Sample, judge

__all__ = ["discord_errors", "fake_discord", "no_external_network"]

SLOW_CALLBACK_SECONDS = 0.1
MakeDesk = Callable[..., Awaitable[Desk]]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The articles and their index, built once; each test works on a copy."""
    root = tmp_path_factory.mktemp("template")
    shutil.copytree(ARTICLES, root / "articles")
    settings = retrieval_settings(root)
    Composition(settings, embedder_factory=lambda s: load_embedder(s.model)).engine(
        OpenPolicy.OPEN_OR_BUILD
    )
    return root


@pytest.fixture
def workspace(tmp_path: Path, template: Path) -> Path:
    root = tmp_path / "desk"
    shutil.copytree(template / "articles", root / "articles")
    shutil.copytree(template / "index", root / "index")
    return root


@pytest.fixture
def bot_logs() -> Iterator[LogRecorder]:
    """ERROR records of the bot and the engine (discord.py's are in discord_errors)."""
    with LogRecorder(("bot", "retrieval"), logging.ERROR).installed() as recorder:
        yield recorder


@pytest.fixture
def settled_heap() -> Iterator[None]:
    """What the runner does once start-up is done, here before the test's loop runs: otherwise
    a full garbage collection over everything earlier tests left (100+ ms) lands in some
    callback. Unfrozen afterwards so later tests can collect this one's objects."""
    settle_heap()
    yield
    gc.unfreeze()


@pytest_asyncio.fixture
async def slow_callbacks(
    settled_heap: None, machine: MachineObserver
) -> AsyncIterator[LogRecorder]:
    """asyncio debug mode: "Executing <callback> took 0.123 seconds" fails the test, unless
    the machine kept the loop from a CPU for all but 100 ms of it."""
    loop = asyncio.get_running_loop()
    assert threading.get_native_id() == machine.loop_thread
    debug, threshold = loop.get_debug(), loop.slow_callback_duration
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    with LogRecorder(("asyncio",), logging.WARNING).installed() as recorder:
        yield recorder
    loop.set_debug(debug)
    loop.slow_callback_duration = threshold
    slow = {
        Sample(at - record.args[1], at): record.getMessage()  # type: ignore[index, operator]
        for record, at in zip(recorder.records, recorder.stamps, strict=True)
        if record.msg == "Executing %s took %.3f seconds"
    }
    if slow:
        first, last = min(s.start for s in slow), max(s.end for s in slow)
        verdict = judge(list(slow), machine.window(first, last), limit=SLOW_CALLBACK_SECONDS)
        blocked = [slow[sample] for sample, _ in verdict.counted]
        assert not blocked, "event loop blocked:\n" + "\n".join([*blocked, verdict.describe()])


@pytest_asyncio.fixture
async def make_desk(
    slow_callbacks: LogRecorder,
    fake_discord: FakeDiscord,
    workspace: Path,
    bot_logs: LogRecorder,
) -> AsyncIterator[MakeDesk]:
    """Starts the bot (once per test, or again to simulate a restart) and checks at the end."""
    world = build_world(fake_discord)
    desks: list[Desk] = []

    async def make(
        *,
        retrieval: dict[str, Any] | None = None,
        embedder_factory: Any = None,
        sync: bool = True,
        **overrides: Any,
    ) -> Desk:
        settings = bot_settings(fake_discord, world["answers"], **overrides)
        services = await prepared_services(
            settings, retrieval_settings(workspace, **(retrieval or {})), embedder_factory
        )
        bot = new_bot(services)
        errors = HandlerErrors()
        errors.install(bot)
        desk = Desk(fake_discord, bot, services, workspace, errors=errors, **world)
        desks.append(desk)
        await desk.start(running_bot(fake_discord, bot))
        if sync:
            await bot.tree.sync()  # the test publishes the commands; the bot never does
        return desk

    try:
        yield make
    finally:
        for desk in reversed(desks):
            await desk.stop()
    for desk in desks:
        assert not desk.errors.unexpected(), desk.errors.unexpected()
        desk.assert_no_mentions()
    assert not bot_logs.records, "errors logged:\n" + "\n".join(bot_logs.messages())


@pytest_asyncio.fixture
async def desk(make_desk: MakeDesk) -> Desk:
    return await make_desk()
