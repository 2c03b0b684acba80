"""The `newsdesk` command line. Heavy modules are imported inside commands so `--help` is instant."""

from bot.cli.app import main

__all__ = ["main"]
