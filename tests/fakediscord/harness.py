"""Running a discord.py client against the fake, and catching errors it only logs.

discord.py swallows exceptions raised in event handlers, command callbacks, app-command
callbacks and view callbacks: it logs them at ERROR on the ``discord`` loggers and carries on,
so a broken handler looks like "the bot did not answer" (a timeout). ``ErrorLogRecorder``
captures those records so a test can assert none happened and print the traceback instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Iterator

import discord

from tests.fakediscord.server import FakeDiscord

#: Loggers whose ERROR records mean something went wrong in the bot or the fake.
WATCHED_LOGGERS = ("discord", "aiohttp", "asyncio", "tests.fakediscord")


class ErrorLogRecorder(logging.Handler):
    """Collects ERROR (and worse) records from ``WATCHED_LOGGERS`` while installed."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @contextlib.contextmanager
    def installed(self) -> Iterator[ErrorLogRecorder]:
        loggers = [logging.getLogger(name) for name in WATCHED_LOGGERS]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)

    def formatted(self) -> list[str]:
        formatter = logging.Formatter("%(name)s: %(message)s")
        lines = []
        for record in self.records:
            text = formatter.format(record)
            if record.exc_info:
                text += "\n" + formatter.formatException(record.exc_info)
            lines.append(text)
        return lines

    def clear(self) -> None:
        self.records.clear()

    def assert_no_errors(self) -> None:
        assert not self.records, "errors were logged:\n" + "\n".join(self.formatted())


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord, client: discord.Client, *, ready_timeout: float = 5.0
) -> AsyncIterator[discord.Client]:
    """Start ``client`` against ``fake``, wait for on_ready, and always close it afterwards.

    The client must have been created with ``**CLIENT_OPTIONS`` (short guild_ready_timeout)
    and ``fake.patch_discord_py()`` must be active (the ``fake_discord`` fixture does both
    patching and cleanup).
    """
    task = asyncio.create_task(client.start(fake.token), name="bot-under-test")
    try:
        async with asyncio.timeout(ready_timeout):
            # is_ready() is client-side state the fake cannot observe, hence a short poll.
            while not client.is_ready():
                if task.done():
                    task.result()  # surfaces LoginFailure, PrivilegedIntentsRequired, ...
                    raise RuntimeError("client stopped before becoming ready")
                await asyncio.sleep(0.01)
        yield client
    finally:
        await client.close()
        # Event handlers still running (e.g. a reply in flight when a test dropped the
        # connection) are cancelled and awaited here: left to the event loop's teardown,
        # their coroutines are closed during garbage collection, an unraisable exception
        # that pytest reports as an error of whichever test runs then.
        handlers = [
            t
            for t in asyncio.all_tasks()
            if t.get_name().startswith("discord.py:") and not t.done()
        ]
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if not task.done():
            await asyncio.wait_for(task, timeout=5.0)
        elif not task.cancelled():
            crash = task.exception()  # retrieve it either way: no "never retrieved" noise
            if crash is not None and sys.exc_info()[0] is None:
                raise crash
