"""Replies to an add of a story that changed: "Updated: <title>" in Discord, the chat and the
CLI (`add --json` says "status": "updated"); the same text again is "already indexed"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.chat import ChatSession
from bot.cli.app import cli
from bot.discord_app import adding
from bot.discord_app.services import Services
from retrieval.documents import Article
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings

pytestmark = pytest.mark.timeout(60)

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://news.example/tides"


def _page(text: str, who: str = "alice (Discord 1)") -> Article:
    page = Article(id="news-example-tides", title="Tide tables", text=text, url=URL, published=WHEN)
    return adding.stamp(page, title=None, added_by=who, added_at=WHEN)


def test_discord_add_of_a_changed_page_updates_it(services: Services) -> None:
    [scoped] = services.engines.opened()
    first = adding.store_article(scoped, _page("Tides rise twice a day along this coast."))
    assert first.already is None and not first.updated
    again = adding.store_article(scoped, _page("Tides rise twice a day.", who="bob (Discord 2)"))
    assert again.updated and again.already is None
    assert again.article.id == first.article.id == "web/news-example-tides"
    assert adding.outcome_text(again).startswith(
        "Updated: “Tide tables” (`web/news-example-tides`)"
    )
    stored = scoped.engine.get_article("web/news-example-tides")
    assert stored is not None and stored.text == "Tides rise twice a day."
    assert stored.published == WHEN and stored.updated is not None and stored.updated > WHEN
    assert stored.extra["added_by"] == "alice (Discord 1)"  # who first added it
    same = adding.store_article(scoped, _page("Tides rise twice a day.", who="carol (Discord 3)"))
    assert adding.outcome_text(same) == "Already indexed: “Tide tables”."


def test_chat_add_of_a_changed_file_says_updated(engine: Engine, settings: RetrievalSettings,
                                                 tmp_path: Path) -> None:  # fmt: skip
    chat = ChatSession(engine, settings)
    note = tmp_path / "tides.md"
    note.write_text("# Tide tables\n\nTides rise twice a day along this coast.\n")
    assert "Added 1 article" in (chat.handle(f"/add {note}") or "")
    note.write_text("# Tide tables\n\nTides rise twice a day, and higher at full moon.\n")
    reply = chat.handle(f"/add {note}") or ""
    assert "Updated: Tide tables" in reply.splitlines()
    assert "1 updated" in reply
    assert "already indexed" in (chat.handle(f"/add {note}") or "")


def test_cli_add_json_says_updated(settings: RetrievalSettings, tmp_path: Path) -> None:
    note = tmp_path / "tides.md"
    options = ["--index-dir", str(settings.index_dir), "--articles-dir", str(settings.articles_dir)]
    env = {"NEWSDESK_MODEL": "hashing"}
    runner = CliRunner()

    def add() -> list[str]:
        out = runner.invoke(cli, [*options, "add", str(note), "--json"], env=env)
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout.splitlines()[-1])
        return [a["status"] for a in data["articles"]]

    note.write_text("# Tide tables\n\nTides rise twice a day along this coast.\n")
    assert add() == ["added"]
    note.write_text("# Tide tables\n\nTides rise twice a day, and higher at full moon.\n")
    assert add() == ["updated"]
    assert add() == ["unchanged"]
    listed = runner.invoke(cli, [*options, "sources", "--json"], env=env)
    [article] = json.loads(listed.stdout)["articles"]
    assert article["id"] == "tides" and article["group"] is None
