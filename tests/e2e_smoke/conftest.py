"""Fixtures for the fake-Discord smoke tests (see tests/fakediscord/README.md)."""

from tests.fakediscord.plugin import discord_errors, fake_discord, no_external_network

__all__ = ["discord_errors", "fake_discord", "no_external_network"]
