"""Unit tests of the Discord bot: pure functions and handlers with autospec'd discord.py."""

import warnings

# Before anything imports discord: discord.py 2.7 imports the deprecated stdlib audioop, and
# the project turns warnings into errors.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord  # noqa: F401
