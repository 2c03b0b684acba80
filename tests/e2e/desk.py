"""The newsdesk bot, for real, against the fake Discord: world, settings, checks.

`Desk` bundles a running NewsdeskBot (real discord.py client, real Engine over a temporary
copy of the articles with the hashing encoder) with the fake guild it lives in, and the checks
every test ends with: no handler error, no slow callback, no message that could ping anyone.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord

from bot.compose import Composition
from bot.discord_app.client import NewsdeskBot
from bot.discord_app.errors import is_expected, unwrap
from bot.discord_app.services import Services
from bot.settings import BotSettings
from retrieval.embedding import Embedder
from retrieval.embedding.factory import load_embedder
from retrieval.settings import RetrievalSettings
from tests.fakediscord import (
    CLIENT_OPTIONS,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    FakeMessage,
    InteractionHandle,
)

REPO = Path(__file__).resolve().parents[2]
ARTICLES = REPO / "articles"
REUTERS_TITLE = "Kerry seeks ‘real progress’ on Syria at Moscow talks"
REUTERS_QUESTION = "What did Kerry want from the Moscow talks?"
EDITOR_ROLE = "newsdesk-editor"
MANAGE_GUILD = discord.Permissions(manage_guild=True).value
WAIT = 15.0  # seconds: generous for 2 shared cores, still bounded


def retrieval_settings(root: Path, **overrides: Any) -> RetrievalSettings:
    values: dict[str, Any] = {
        "articles_dir": root / "articles",
        "index_dir": root / "index",
        "model": "hashing",
        "allow_private_urls": False,
        # The hashing encoder is a stand-in: its confidence is not calibrated, so answer tests
        # never abstain; the no-match test sets the product default back.
        "abstain_threshold": 0.0,
    }
    values.update(overrides)
    return RetrievalSettings(_env_file=None, **values)  # type: ignore[call-arg]


def copy_workspace(template: Path, target: Path) -> None:
    shutil.copytree(template / "articles", target / "articles")
    shutil.copytree(template / "index", target / "index")


class HandlerErrors:
    """Every exception handed to tree.on_error / on_command_error (expected ones included)."""

    def __init__(self) -> None:
        self.seen: list[BaseException] = []

    def install(self, bot: NewsdeskBot) -> None:
        tree_error = bot.tree.on_error
        command_error = bot.on_command_error

        async def on_tree_error(interaction: discord.Interaction[NewsdeskBot], error: Any) -> None:
            self.seen.append(error)
            await tree_error(interaction, error)

        async def on_command_error(context: Any, error: Any) -> None:
            self.seen.append(error)
            await command_error(context, error)

        bot.tree.on_error = on_tree_error  # type: ignore[method-assign]
        bot.on_command_error = on_command_error  # type: ignore[method-assign]

    def unexpected(self) -> list[BaseException]:
        return [e for e in self.seen if not is_expected(e)]

    def expected_types(self) -> list[type[BaseException]]:
        return [type(unwrap(e)) for e in self.seen if is_expected(e)]


class LogRecorder(logging.Handler):
    """Records at `level` and above from the named loggers while installed, each with the
    time.monotonic() it was logged at (in `stamps`)."""

    def __init__(self, names: tuple[str, ...], level: int) -> None:
        super().__init__(level=level)
        self.names = names
        self.records: list[logging.LogRecord] = []
        self.stamps: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.stamps.append(time.monotonic())
        self.records.append(record)

    @contextmanager
    def installed(self) -> Iterator[LogRecorder]:
        loggers = [logging.getLogger(n) for n in self.names]
        saved = [lg.level for lg in loggers]
        for lg in loggers:
            lg.addHandler(self)
            if lg.getEffectiveLevel() > self.level:
                lg.setLevel(self.level)
        try:
            yield self
        finally:
            for lg, level in zip(loggers, saved, strict=True):
                lg.removeHandler(self)
                lg.setLevel(level)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]


@dataclass
class HeldEncoder:
    """Wraps an encoder so indexing waits (in its worker thread, never on the event loop)
    until the test releases it: "while a reindex runs" becomes a state, not a race."""

    inner: Embedder
    started: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: Any, **kwargs: Any) -> Any:
        self.started.set()
        self.released.wait(timeout=WAIT)
        return self.inner.encode(texts, **kwargs)


@dataclass
class Desk:
    fake: FakeDiscord
    bot: NewsdeskBot
    services: Services
    root: Path
    guild: FakeGuild
    channel: FakeChannel
    answers: FakeChannel
    alice: FakeMember
    admin: FakeMember
    editor: FakeMember
    errors: HandlerErrors
    _running: Any = None

    async def start(self, context: Any) -> None:
        """`context` is fakediscord's running_bot(...): entered here, left by stop()."""
        await context.__aenter__()
        self._running = context

    async def stop(self) -> None:
        """Close the bot (as a restart or shutdown would); idempotent."""
        context, self._running = self._running, None
        if context is not None:
            await context.__aexit__(None, None, None)

    admin_permissions = MANAGE_GUILD

    @property
    def articles_dir(self) -> Path:
        return self.services.settings.articles_dir

    async def slash(
        self,
        user: FakeMember,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        followups: int = 1,
        channel: FakeChannel | None = None,
    ) -> InteractionHandle:
        handle = self.fake.send_slash_command(channel or self.channel, user, name, options)
        await self.fake.wait_for_interaction_response(handle, followups=followups, timeout=WAIT)
        return handle

    async def say(
        self, user: FakeMember, content: str, *, channel: FakeChannel | None = None
    ) -> FakeMessage:
        """Post as `user`; the bot's reply to that message."""
        where = channel or self.channel
        sent = self.fake.send_user_message(where, user, content)

        def replies_to_it(message: FakeMessage) -> bool:
            reference = message.payload.get("message_reference") or {}
            return reference.get("message_id") == str(sent.id)

        return await self.fake.wait_for_message(where, replies_to_it, timeout=WAIT)

    async def click(self, message: FakeMessage, custom_id: str, user: FakeMember) -> FakeMessage:
        handle = self.fake.click_button(message, custom_id, user)
        await self.fake.wait_for_interaction_response(handle, followups=1, timeout=WAIT)
        return handle.followups[0]

    def bot_messages(self) -> list[FakeMessage]:
        me = self.fake.bot_user.id
        return [m for m in self.fake.world.messages.values() if m.author_id == me]

    def assert_no_mentions(self) -> None:
        """Every message the bot sent or edited: AllowedMentions.none(), nobody resolved."""
        for message in self.bot_messages():
            if message.content or message.embeds:
                allowed = message.allowed_mentions
                assert allowed is not None, (message.id, message.sent)
                assert allowed.get("parse") == [], (message.id, allowed)
                assert not allowed.get("users") and not allowed.get("roles"), allowed
                assert not allowed.get("replied_user"), allowed
            assert message.mentioned_user_ids == []
            assert not message.payload.get("mention_everyone")
            assert not message.payload.get("mention_roles")


def build_world(fake: FakeDiscord) -> dict[str, Any]:
    guild = fake.add_guild("Newsroom", channels=("general", "ask-here"))
    editor_role = fake.add_role(guild, EDITOR_ROLE)
    return {
        "guild": guild,
        "channel": guild.text_channels[0],
        "answers": guild.text_channels[1],
        "alice": fake.add_member(guild, "alice"),
        "admin": fake.add_member(guild, "admin", permissions=MANAGE_GUILD),
        "editor": fake.add_member(guild, "editor", roles=[editor_role]),
    }


def bot_settings(fake: FakeDiscord, answers: FakeChannel, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "token": fake.token,
        "api_base": fake.api_url,
        "gateway_url": fake.gateway_url,
        "admin_role": EDITOR_ROLE,
        "answer_channels": [answers.id],
        "ask_cooldown_seconds": 0,
        "reload_seconds": 0.25,
    }
    values.update(overrides)
    return BotSettings(_env_file=None, **values)  # type: ignore[call-arg]


async def prepared_services(
    settings: BotSettings,
    retrieval: RetrievalSettings,
    embedder_factory: Callable[[RetrievalSettings], Embedder] | None = None,
) -> Services:
    factory = embedder_factory or (lambda s: load_embedder(s.model))
    services = Composition(retrieval, embedder_factory=factory).services(settings)
    return await asyncio.to_thread(services.prepare)


def new_bot(services: Services) -> NewsdeskBot:
    return NewsdeskBot(services, **CLIENT_OPTIONS)
