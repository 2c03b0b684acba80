"""Await a condition over the fake's state without sleeping in a loop.

Everything that changes the fake's state (a REST call, an interaction response, a gateway
frame) calls ``notify()`` and waiters re-check their predicate at once, so tests see changes
without polling delay. Predicates may also look at state the fake cannot observe (the client's
cache, captured logs), so waiters additionally re-check every ``POLL_INTERVAL`` seconds.
"""

# Test-facing waits take an explicit ``timeout`` so every wait is bounded and its failure names
# what was awaited; asyncio.timeout() around the call would lose that description.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_INTERVAL = 0.05


class WaitTimeout(AssertionError):
    """A wait on the fake ran out of time; an AssertionError so pytest reports it as a failure."""


class ChangeNotifier:
    """Wakes every waiter whenever the fake's state changes."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float,
        description: str,
    ) -> T:
        """Return the first truthy value of ``predicate()``, re-checked on every change."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = predicate()
                    if result:
                        return result
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.add(waiter)
                    try:
                        await asyncio.wait([waiter], timeout=POLL_INTERVAL)
                    finally:
                        self._waiters.discard(waiter)
                        waiter.cancel()
        except TimeoutError:
            raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {description}") from None
