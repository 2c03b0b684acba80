"""Adding (file, URL, text), removing, listing, status, and who may do what."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from bot.discord_app.errors import NotAllowedError
from retrieval.errors import BadArticleError, FetchError
from tests.e2e.conftest import MakeDesk
from tests.e2e.desk import REUTERS_QUESTION, REUTERS_TITLE, Desk
from tests.fakediscord import FakeFile
from tests.loaders.pdfs import STORY, make_pdf

pytestmark = pytest.mark.timeout(60)

VENTS_MD = b"""# Deep sea vents

Hydrothermal vents on the ocean floor release mineral-rich water heated by magma.

Giant tube worms live near the vents without any sunlight. Bacteria inside them turn
hydrogen sulfide into food, a process called chemosynthesis.
"""

GLACIER_HTML = """<!doctype html><html><head><title>Glacier retreat in the Alps</title></head>
<body><article><h1>Glacier retreat in the Alps</h1>
<p>Alpine glaciers lost a record share of their ice this summer, surveyors said on Monday.</p>
<p>The Morteratsch glacier retreated by more than forty metres, the measurements showed,
as heatwaves and thin winter snow exposed the ice for months.</p>
<p>Scientists warned that most Alpine glaciers could vanish by the end of the century.</p>
</article></body></html>"""


def front_matter(text: str) -> dict[str, str]:
    _, header, _ = text.split("---\n", 2)
    loaded = yaml.safe_load(header)
    assert isinstance(loaded, dict)
    return loaded


@pytest_asyncio.fixture
async def article_site() -> AsyncIterator[str]:
    """A web page on 127.0.0.1, for `/add url:`."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=GLACIER_HTML, content_type="text/html")

    app = web.Application()
    app.router.add_get("/news/glacier-retreat.html", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/news/glacier-retreat.html"
    finally:
        await runner.cleanup()


async def test_add_attachment_then_ask(desk: Desk) -> None:
    upload = FakeFile("ocean notes.md", VENTS_MD, "text/markdown")
    handle = await desk.slash(desk.admin, "add", {"file": upload})
    text = handle.followups[0].content
    assert text.startswith("Added “Deep sea vents” (`ocean-notes`):") and "chunk" in text
    saved = desk.articles_dir / "ocean-notes.md"
    meta = front_matter(saved.read_text(encoding="utf-8"))
    assert meta["title"] == "Deep sea vents"
    assert meta["added_by"] == f"admin (Discord {desk.admin.id})"
    assert meta["added_at"].endswith("+00:00")
    reply = await desk.say(desk.alice, "!ask What lives near hydrothermal vents without sunlight?")
    assert reply.embeds[0]["title"] == "[1] Deep sea vents"
    # The same file again is recognised.
    again = await desk.slash(desk.admin, "add", {"file": upload})
    assert again.followups[0].content == "Already indexed: “Deep sea vents”."


async def test_add_url_from_a_local_server_then_ask(make_desk: MakeDesk, article_site: str) -> None:
    desk = await make_desk(retrieval={"allow_private_urls": True})
    handle = await desk.slash(desk.editor, "add", {"url": article_site})
    assert handle.followups[0].content.startswith("Added “Glacier retreat in the Alps”")
    [saved] = (desk.articles_dir / "web").glob("*.md")
    meta = front_matter(saved.read_text(encoding="utf-8"))
    assert meta["url"] == article_site and meta["title"] == "Glacier retreat in the Alps"
    reply = await desk.say(desk.alice, "!ask How far did the Morteratsch glacier retreat?")
    top = reply.embeds[0]
    assert top["title"] == "[1] Glacier retreat in the Alps"
    # The title links to the article, scrolled to the quoted sentence (a text fragment).
    assert top["url"].startswith(article_site + "#:~:text=The%20Morteratsch%20glacier")


async def test_add_url_refuses_loopback_by_default(desk: Desk, article_site: str) -> None:
    handle = await desk.slash(desk.admin, "add", {"url": article_site})
    assert "refused" in handle.followups[0].content
    assert not (desk.articles_dir / "web").exists()
    assert desk.errors.expected_types() == [FetchError]


async def test_add_text_then_ask_and_duplicate(desk: Desk) -> None:
    body = (
        "The city council approved a new bicycle lane network on Thursday. "
        "Construction of the twelve kilometres of lanes starts in April."
    )
    handle = await desk.slash(
        desk.admin, "add", {"title": "Council approves bike lanes", "text": body}
    )
    assert handle.followups[0].content.startswith("Added “Council approves bike lanes”")
    assert (desk.articles_dir / "council-approves-bike-lanes.md").exists()
    reply = await desk.say(desk.alice, "!ask When does construction of the bicycle lanes start?")
    assert reply.embeds[0]["title"] == "[1] Council approves bike lanes"
    again = await desk.slash(desk.admin, "add", {"title": "Bike lanes", "text": body})
    assert again.followups[0].content == "Already indexed: “Council approves bike lanes”."


async def test_add_refuses_a_bad_file(desk: Desk) -> None:
    upload = FakeFile("report.docx", b"PK\x03\x04", "application/octet-stream")
    handle = await desk.slash(desk.admin, "add", {"file": upload})
    assert handle.followups[0].content == "Attach a .txt, .md, .html or .pdf file."
    damaged = FakeFile("report.pdf", b"%PDF-1.4", "application/pdf")
    handle = await desk.slash(desk.admin, "add", {"file": damaged})
    assert "report.pdf is not a readable PDF" in handle.followups[0].content
    assert desk.errors.expected_types() == [BadArticleError, BadArticleError]


async def test_add_a_pdf_attachment_then_ask(desk: Desk) -> None:
    upload = FakeFile("Bridge Vote.pdf", make_pdf(STORY), "application/pdf")
    handle = await desk.slash(desk.admin, "add", {"file": upload})
    added = handle.followups[0].content
    assert added.startswith("Added “Council backs new bridge” (`bridge-vote`)")
    saved = desk.articles_dir / "bridge-vote.md"  # its text, as Markdown: the folder's copy
    assert front_matter(saved.read_text(encoding="utf-8"))["title"] == "Council backs new bridge"
    reply = await desk.say(desk.alice, "!ask How much will the new bridge cost?")
    assert reply.embeds[0]["title"] == "[1] Council backs new bridge"


async def test_remove_with_autocomplete_then_ask_again(desk: Desk) -> None:
    typing = desk.fake.send_autocomplete(
        desk.channel, desk.admin, "remove", {"article": "Kerry"}, focused="article"
    )
    await desk.fake.wait_for_interaction_response(typing)
    assert typing.choices == [
        {"name": REUTERS_TITLE, "value": "kerry-seeks-real-progress-on-syria"}
    ]
    handle = await desk.slash(
        desk.admin, "remove", {"article": "kerry-seeks-real-progress-on-syria"}
    )
    assert handle.followups[0].content == (
        f"Removed “{REUTERS_TITLE}” (`kerry-seeks-real-progress-on-syria`)."
    )
    assert not (desk.articles_dir / "kerry-seeks-real-progress-on-syria.txt").exists()
    reply = await desk.say(desk.alice, f"!ask {REUTERS_QUESTION}")
    assert all(REUTERS_TITLE not in e["title"] for e in reply.embeds)
    # A typed title works as well as a picked suggestion; an unknown one is explained.
    by_title = await desk.slash(desk.admin, "remove", {"article": "Steam engine"})
    assert by_title.followups[0].content.startswith("Removed “Steam engine”")
    missing = await desk.slash(desk.admin, "remove", {"article": "No such story"})
    assert missing.followups[0].content.startswith("No single article matches")


async def test_sources_pages_and_status(desk: Desk) -> None:
    handle = await desk.slash(desk.alice, "sources")
    listing = handle.followups[0]
    embed = listing.embeds[0]
    assert embed["footer"]["text"] == "1–10 of 13"
    assert embed["description"].count("\n") == 9
    older = next(
        c["custom_id"] for c in listing.components[0]["components"] if c.get("label") == "Older ▶"
    )
    edits = len(listing.edits)
    click = desk.fake.click_button(listing, older, desk.alice)
    await desk.fake.wait_for_interaction_response(click, until=lambda h: len(listing.edits) > edits)
    assert click.response_type == 6  # deferred update, then the message is edited
    assert listing.embeds[0]["footer"]["text"] == "11–13 of 13"
    searched = await desk.slash(desk.alice, "sources", {"search": "kerry"})
    assert REUTERS_TITLE in searched.followups[0].embeds[0]["description"]
    status = await desk.slash(desk.alice, "status")
    text = status.followups[0].content
    assert "Articles: 13" in text and "Model: hashing" in text


async def test_sources_sort_by_time_added_across_pages(desk: Desk) -> None:
    for title, byline in (("Recent story", "1 May 2024"), ("Oldest story", "3 March 2001")):
        text = f"*By Priya Nair — {byline}*\n\nThe {title.lower()} was added."
        added = await desk.slash(desk.admin, "add", {"title": title, "text": text})
        assert added.followups[0].content.startswith("Added")
    by_date = (await desk.slash(desk.alice, "sources")).followups[0].embeds[0]["description"]
    assert [line.split(" · ")[0] for line in by_date.split("\n")[:2]] == [
        "1. Recent story", "2. Oldest story"
    ]  # fmt: skip
    handle = await desk.slash(desk.alice, "sources", {"sort": "added"})
    listing = handle.followups[0]
    first = listing.embeds[0]["description"].split("\n")[0]
    stamp = int(dt.datetime(2001, 3, 3, tzinfo=dt.UTC).timestamp())
    assert first.startswith("1. Oldest story") and f"<t:{stamp}:D>" in first
    assert "last added first" in listing.embeds[0]["title"]
    later = next(
        c["custom_id"] for c in listing.components[0]["components"] if c.get("label") == "Earlier ▶"
    )
    assert later == "nd:src:2+:"
    edits = len(listing.edits)
    click = desk.fake.click_button(listing, later, desk.alice)
    await desk.fake.wait_for_interaction_response(click, until=lambda h: len(listing.edits) > edits)
    assert listing.embeds[0]["footer"]["text"] == "11–15 of 15"
    assert "last added first" in listing.embeds[0]["title"]


@pytest.mark.parametrize(
    ("command", "options", "action"),
    [
        ("add", {"title": "A note", "text": "Some text here."}, "add articles"),
        ("remove", {"article": "kerry-seeks-real-progress-on-syria"}, "remove articles"),
        ("reindex", None, "reindex"),
    ],
)
async def test_management_needs_permission(
    desk: Desk, command: str, options: dict[str, str] | None, action: str
) -> None:
    handle = await desk.slash(desk.alice, command, options)
    assert handle.followups[0].content == (
        "Sorry, only members with the Manage Server permission or the newsdesk-editor role "
        f"can {action}."
    )
    assert desk.errors.expected_types() == [NotAllowedError]
    assert desk.services.engines.opened()[0].engine.status().articles == 13
    assert (desk.articles_dir / "kerry-seeks-real-progress-on-syria.txt").exists()


async def test_owner_only_sync_command(desk: Desk) -> None:
    refused = await desk.say(desk.alice, "!sync")
    assert refused.content == "Only the bot's owner can do that."
    owner = desk.fake.add_member(desk.guild, desk.fake.world.owner_user)
    synced = await desk.say(owner, "!sync here")
    assert synced.content.startswith("Synced 9 commands to this server: /ask")
    assert "Find evidence" in synced.content and "/Find evidence" not in synced.content
    names = {c["name"] for c in desk.fake.registered_commands[desk.guild.id]}
    assert names == {"ask", "add", "remove", "sources", "status", "reindex", "feed", "gaps"} | {
        "Find evidence"
    }
