"""How long operations report progress without knowing who draws it (CLI bar, bot, nothing)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, description: str) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class NoProgress:
    def start(self, total: int, description: str) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None
