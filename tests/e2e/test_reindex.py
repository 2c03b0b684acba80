"""`/reindex` while questions keep being answered, and CLI writes picked up while running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.compose import Composition, OpenPolicy
from retrieval.collection import add_sources
from retrieval.embedding.factory import load_embedder
from retrieval.settings import RetrievalSettings
from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, WAIT, HeldEncoder

pytestmark = pytest.mark.timeout(90)

NEW_ARTICLES = {
    "lighthouse-keepers.md": (
        "# The last lighthouse keepers\n\nThe last lighthouse keepers left their towers in "
        "the nineties, when automatic lamps replaced them.\n"
    ),
    "honey-bees.md": (
        "# Honey bees in winter\n\nHoney bees survive the winter by forming a tight cluster "
        "and shivering their flight muscles to make heat.\n"
    ),
}


def write_articles(folder: Path) -> None:
    for name, text in NEW_ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")


async def test_reindex_while_questions_continue(make_desk: MakeDesk) -> None:
    held: list[HeldEncoder] = []

    def held_encoder(settings: RetrievalSettings) -> HeldEncoder:
        held.append(HeldEncoder(load_embedder(settings.model)))
        return held[0]

    desk = await make_desk(embedder_factory=held_encoder)
    write_articles(desk.articles_dir)
    (desk.articles_dir / "kerry-seeks-real-progress-on-syria.txt").unlink()

    reindex = desk.fake.send_slash_command(desk.channel, desk.admin, "reindex")
    await desk.fake.wait_until(lambda: held[0].started.is_set(), timeout=WAIT)
    # The reindex is encoding now; the old snapshot still answers, Reuters included.
    for user in (desk.alice, desk.editor):
        reply = await desk.say(user, f"!ask {REUTERS_QUESTION}")
        assert reply.embeds[0]["title"] == f"[1] {REUTERS_TITLE}"
    assert reindex.followups == []  # the answers came while the reindex was still running
    held[0].released.set()

    await desk.fake.wait_for_interaction_response(reindex, followups=1, timeout=WAIT)
    summary = reindex.followups[0].content
    assert summary.startswith("Reindexed the shared collection from its articles folder: 2 added")
    assert "1 removed" in summary and "Now 14 articles" in summary

    bees = await desk.say(desk.alice, "!ask How do honey bees survive the winter?")
    assert bees.embeds[0]["title"] == "[1] Honey bees in winter"
    after = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert all(REUTERS_TITLE not in e["title"] for e in after.embeds)


async def test_articles_added_by_the_cli_show_up(make_desk: MakeDesk, tmp_path: Path) -> None:
    desk = await make_desk()
    source = tmp_path / "lighthouse-keepers.md"
    source.write_text(NEW_ARTICLES["lighthouse-keepers.md"], encoding="utf-8")

    def cli_add() -> None:
        """What `newsdesk add` does in its own process: its own engine on the same index."""
        settings = desk.services.settings
        root = Composition(settings, embedder_factory=lambda s: load_embedder(s.model))
        engine = root.engine(OpenPolicy.OPEN_OR_BUILD)
        add_sources(engine, settings, [str(source)])

    await asyncio.to_thread(cli_add)
    engine = desk.services.engines.opened()[0].engine
    await desk.fake.wait_until(
        lambda: engine.get_article("lighthouse-keepers"),
        timeout=WAIT,
        description="the bot's periodic reload",
    )
    reply = await desk.say(desk.alice, "!ask When did the last lighthouse keepers leave?")
    assert reply.embeds[0]["title"] == "[1] The last lighthouse keepers"
