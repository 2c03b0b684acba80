"""The E2E desk (tests/e2e/desk.py) without make_desk's end-of-test checks, for tests that
make their own: the load test (which measures the loop itself instead of running it in
asyncio debug mode) and tests that expect an error to be logged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.e2e.desk import (
    Desk,
    HandlerErrors,
    bot_settings,
    build_world,
    new_bot,
    prepared_services,
    retrieval_settings,
)
from tests.fakediscord import FakeDiscord, running_bot


@asynccontextmanager
async def bare_desk(fake: FakeDiscord, workspace: Path, **overrides: Any) -> AsyncIterator[Desk]:
    """The real bot, logged in to `fake` over `workspace`, its commands synced."""
    world = build_world(fake)
    services = await prepared_services(
        bot_settings(fake, world["answers"], **overrides), retrieval_settings(workspace)
    )
    bot = new_bot(services)
    errors = HandlerErrors()
    errors.install(bot)
    desk = Desk(fake, bot, services, workspace, errors=errors, **world)
    async with running_bot(fake, bot):
        await bot.tree.sync()
        yield desk
