"""The terminal chat takes the bot's commands and shows the same citations as Discord."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.chat import ChatSession
from bot.discord_app.embeds import answer_embeds
from bot.discord_app.services import Services
from tests.factories import REUTERS_TITLE

pytestmark = pytest.mark.timeout(30)

QUESTION = "What did Kerry want from the Moscow talks?"


def session(services: Services) -> ChatSession:
    [scoped] = services.engines.opened()
    return ChatSession(scoped.engine, scoped.settings, bold=("**", "**"))


def test_ask_renders_the_citations_discord_shows(services: Services) -> None:
    chat = session(services)
    text = chat.handle(QUESTION)
    assert text is not None and text.startswith(f"[1] {REUTERS_TITLE}")
    result = services.engines.opened()[0].engine.search(QUESTION)
    embeds = answer_embeds(result)
    assert [e.title for e in embeds] == [line for line in text.splitlines() if line.startswith("[")]
    assert chat.handle(f"/ask {QUESTION}") == text


def test_commands_match_the_bot(services: Services, tmp_path: Path) -> None:
    chat = session(services)
    assert "Articles: 4" in (chat.handle("/status") or "")
    assert "undated  The life of honey bees  [bees]" in (chat.handle("/sources bee") or "")
    assert "1 Mar 2024  High-speed trains in Europe  [trains]" in (chat.handle("/sources") or "")
    note = tmp_path / "tides.md"
    note.write_text("# Tide tables\n\nTides rise twice a day along this coast.\n")
    assert "Added 1 article" in (chat.handle(f"/add {note}") or "")
    assert "Articles: 5" in (chat.handle("/status") or "")
    assert chat.handle("/remove bees") == "Removed bees: The life of honey bees"
    assert chat.handle("/sources bee") == "No articles match."
    assert chat.handle("/more") is not None
    assert chat.handle("/quit") is None
