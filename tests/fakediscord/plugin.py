"""Pytest fixtures for tests that run a discord.py client against ``FakeDiscord``.

Import them in a conftest.py next to your tests::

    from tests.fakediscord.plugin import discord_errors, fake_discord, no_external_network

``fake_discord`` starts the fake in the test's event loop, points discord.py at it, blocks
non-loopback networking and, on teardown, fails the test if discord.py logged an error, an
unknown route was hit, an injected failure never fired, or anything tried to leave loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.fakediscord.guard import NetworkGuard
from tests.fakediscord.harness import ErrorLogRecorder
from tests.fakediscord.server import FakeDiscord


@pytest.fixture
def no_external_network() -> Iterator[NetworkGuard]:
    """Block (and fail the test on) any connection or DNS lookup beyond loopback."""
    guard = NetworkGuard()
    with guard.installed():
        yield guard
    if guard.violations:
        pytest.fail("test tried to reach the network: " + "; ".join(guard.violations))


@pytest.fixture
def discord_errors() -> Iterator[ErrorLogRecorder]:
    """ERROR records from discord.py (handler/command/view exceptions), aiohttp and asyncio."""
    recorder = ErrorLogRecorder()
    with recorder.installed():
        yield recorder


@pytest_asyncio.fixture
async def fake_discord(
    no_external_network: NetworkGuard, discord_errors: ErrorLogRecorder
) -> AsyncIterator[FakeDiscord]:
    """A started ``FakeDiscord`` with discord.py patched to use it; checked on teardown.

    Stop your bot inside the test (``running_bot`` does) so it does not try to reconnect
    while the fake shuts down.
    """
    async with FakeDiscord() as fake:
        with fake.patch_discord_py():
            yield fake
    fake.assert_clean()
    discord_errors.assert_no_errors()
