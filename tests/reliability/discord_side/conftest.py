"""The E2E fixtures (tests/e2e/conftest.py), reused as they are: the real bot on the fake
Discord, over a copy of the shipped articles indexed with the hashing encoder."""

from __future__ import annotations

from tests.e2e.conftest import (
    bot_logs,
    desk,
    make_desk,
    settled_heap,
    slow_callbacks,
    template,
    workspace,
)
from tests.fakediscord.plugin import discord_errors, fake_discord, no_external_network

__all__ = [
    "bot_logs",
    "desk",
    "discord_errors",
    "fake_discord",
    "make_desk",
    "no_external_network",
    "settled_heap",
    "slow_callbacks",
    "template",
    "workspace",
]
