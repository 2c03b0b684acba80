"""An in-process fake Discord (REST v10, gateway v10, CDN) for end-to-end tests of a real
discord.py client. See README.md in this directory."""

from tests.fakediscord import _discord_import  # noqa: F401 - must precede any discord import
from tests.fakediscord.guard import ExternalNetworkBlocked, NetworkGuard
from tests.fakediscord.harness import ErrorLogRecorder, running_bot
from tests.fakediscord.interactions import InteractionHandle
from tests.fakediscord.permissions import Overwrite
from tests.fakediscord.rest import FailureRule, RecordedRequest
from tests.fakediscord.server import CLIENT_OPTIONS, FakeDiscord
from tests.fakediscord.state import (
    FakeChannel,
    FakeFile,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
)
from tests.fakediscord.waiting import WaitTimeout

__all__ = [
    "CLIENT_OPTIONS",
    "ErrorLogRecorder",
    "ExternalNetworkBlocked",
    "FailureRule",
    "FakeChannel",
    "FakeDiscord",
    "FakeFile",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "InteractionHandle",
    "NetworkGuard",
    "Overwrite",
    "RecordedRequest",
    "WaitTimeout",
    "running_bot",
]
