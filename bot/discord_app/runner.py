"""Running the bot (`newsdesk run`, `python -m bot`) and syncing its slash commands.

The composition root (bot/compose.py) builds the services and the client; this module
prepares them (encoder, index), connects and serves until stopped. A rejected token or a
refused intent ends the process with one line on stderr and a non-zero code.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

import click
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bot.console import fail
from bot.discord_app.client import NewsdeskBot, ShardedNewsdeskBot
from bot.discord_app.services import Services
from bot.settings import BotSettings
from retrieval.errors import UsageError

logger = logging.getLogger(__name__)
BAD_TOKEN = "Discord rejected DISCORD_TOKEN (invalid token): copy it again from the portal"
NO_INTENT = (
    "Discord refused the Message Content intent: enable it under Bot > Privileged Gateway "
    "Intents in the developer portal, or set DISCORD_MESSAGE_CONTENT=0 (slash commands only)"
)
BOT_LOGGERS = ("bot", "retrieval", "discord")


def point_at(bot_settings: BotSettings) -> None:
    """Where discord.py connects: Discord by default, or a compatible server (tests)."""
    discord.http.Route.BASE = bot_settings.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(bot_settings.gateway_url)


class RedactToken(logging.Filter):
    """Defense in depth: a log line that somehow contains the token shows ********** instead."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "**********"), ()
        return True


def configure_bot_logging(token: str) -> None:
    """A running bot reports at INFO (one line per question) unless -v asked for more."""
    root = logging.getLogger()
    if root.level > logging.INFO or root.level == logging.NOTSET:
        for name in BOT_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
    for handler in root.handlers:
        handler.addFilter(RedactToken(token))


def settle_heap() -> None:
    """After loading the model and the index: move what start-up allocated out of the garbage
    collector's view. A full collection then scans only new objects, instead of pausing the
    event loop for 100+ ms walking the model's and index's objects."""
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class Shards:
    """Which of the bot's shards this process runs."""

    ids: tuple[int, ...]
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not self.ids or any(not 0 <= i < self.count for i in self.ids):
            raise UsageError(
                f"shard ids must be between 0 and {self.count - 1} (--shard-count {self.count})"
            )

    @classmethod
    def parse(cls, ids: str | None, count: int | None) -> Shards | None:
        """`--shard-ids 0,1 --shard-count 4`; no options: no sharding."""
        if ids is None and count is None:
            return None
        if count is None:
            raise UsageError("--shard-ids needs --shard-count (the bot's total number of shards)")
        if ids is None:
            return cls(tuple(range(count)), count)
        try:
            numbers = tuple(sorted({int(part) for part in ids.split(",") if part.strip()}))
        except ValueError:
            raise UsageError(
                f"--shard-ids takes numbers separated by commas, not {ids!r}"
            ) from None
        return cls(numbers, count)

    def options(self) -> dict[str, Any]:
        return {"shard_ids": list(self.ids), "shard_count": self.count}


def run_bot(services: Services, token: str, shards: Shards | None = None) -> None:
    """Blocking: load the encoder and the index, then serve until SIGTERM or Ctrl-C."""
    configure_bot_logging(token)
    services.prepare()
    settle_heap()
    point_at(services.bot_settings)
    if shards is not None:
        logger.info("running shards %s of %d", ",".join(map(str, shards.ids)), shards.count)
    try:
        asyncio.run(serve(services, token, shards=shards))
    except discord.LoginFailure:
        fail(BAD_TOKEN, 1)
    except discord.PrivilegedIntentsRequired:
        fail(NO_INTENT, 1)
    except (discord.GatewayNotFound, OSError) as exc:
        fail(f"cannot reach Discord at {services.bot_settings.api_base}: {exc}", 1)


async def serve(
    services: Services, token: str, *, shards: Shards | None = None, **client_options: Any
) -> None:
    """Run until closed (SIGTERM or Ctrl-C close it cleanly)."""
    bot_class = NewsdeskBot if shards is None else ShardedNewsdeskBot
    options = client_options | (shards.options() if shards is not None else {})
    async with bot_class(services, **options) as bot:
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(NotImplementedError):  # not on Windows
                loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(bot.close()))
        await bot.start(token)


def sync_commands(services: Services, token: str, *, guild_id: int | None) -> None:
    """`newsdesk sync-commands`: log in over HTTP only, publish the tree, exit."""
    configure_bot_logging(token)
    point_at(services.bot_settings)
    try:
        synced = asyncio.run(sync_tree(services, token, guild_id))
    except discord.LoginFailure:
        fail(BAD_TOKEN, 1)
        return
    where = f"to server {guild_id}" if guild_id else "globally"
    names = ", ".join(f"/{command.name}" for command in synced)
    click.echo(f"Synced {len(synced)} commands {where}: {names}")


async def sync_tree(
    services: Services, token: str, guild_id: int | None, **client_options: Any
) -> list[app_commands.AppCommand]:
    async with NewsdeskBot(services, **client_options) as bot:
        await bot.login(token)  # runs setup_hook: the cogs define the tree
        if guild_id is None:
            return await bot.tree.sync()
        guild = discord.Object(guild_id)
        bot.tree.copy_global_to(guild=guild)
        return await bot.tree.sync(guild=guild)
