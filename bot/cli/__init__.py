"""The `newsdesk` command line. Heavy imports live inside commands so `--help` is instant."""

from bot.cli import doctor as _doctor  # noqa: F401  (registers `newsdesk doctor`)
from bot.cli import feeds as _feeds  # noqa: F401  (registers `newsdesk feeds`)
from bot.cli.app import main

__all__ = ["main"]
