import asyncio
import concurrent.futures
import functools
import os

import pytest

from retrieval.engine import Engine
from tests.reliability.discord_side import test_load as load

POOL = concurrent.futures.ThreadPoolExecutor(max_workers=int(os.environ.get("W", "1")))


async def _asearch(self, question, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(POOL, functools.partial(self.search, question, **kwargs))


@pytest.fixture(autouse=True)
def _patch(monkeypatch):
    if os.environ.get("W") != "default":
        monkeypatch.setattr(Engine, "asearch", _asearch)


test_x = load.test_fifty_users_ask_while_articles_are_added_and_reindexed
