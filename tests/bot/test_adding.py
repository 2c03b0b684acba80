"""`/add` without Discord: choosing the source, checking uploads, saving with provenance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.discord_app import adding, managing
from bot.discord_app.errors import AmbiguousArticleError
from bot.discord_app.services import Services
from retrieval.errors import ArticleExistsError, BadArticleError, IndexBusyError, UsageError
from retrieval.loaders import article_from_text, load_file
from tests.loaders.pdfs import PARAGRAPHS, STORY, make_pdf

pytestmark = pytest.mark.timeout(30)

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"url": "https://e.org/a"}, "url"),
        ({"upload": adding.Upload("a.md", 10)}, "file"),
        ({"text": "Body", "title": "T"}, "text"),
        ({"text": "Body"}, "text"),
        ({"url": "https://e.org/a", "title": "T"}, "url"),
    ],
)
def test_choose_source(options: dict[str, object], kind: str) -> None:
    values = {"url": None, "upload": None, "title": None, "text": None, **options}
    assert adding.choose_source(**values) == kind  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [{}, {"title": "Only a title"}, {"url": "https://e.org", "text": "both"}, {"url": "  "}],
)
def test_choose_source_needs_exactly_one(options: dict[str, object]) -> None:
    values = {"url": None, "upload": None, "title": None, "text": None, **options}
    with pytest.raises(UsageError, match="Give one of"):
        adding.choose_source(**values)  # type: ignore[arg-type]


def test_check_upload() -> None:
    adding.check_upload(adding.Upload("notes.MD", 100), 1000)
    adding.check_upload(adding.Upload("report.PDF", 100), 1000)
    with pytest.raises(BadArticleError, match=r"Attach a \.txt, \.md, \.html or \.pdf file"):
        adding.check_upload(adding.Upload("notes.docx", 100), 1000)
    with pytest.raises(BadArticleError, match="the limit is 1 kB"):
        adding.check_upload(adding.Upload("big.txt", 5000), 1000)


def test_article_from_upload_markdown_html_and_text() -> None:
    md = adding.article_from_upload(
        "../../etc/My Notes.md", b"---\ntitle: Front title\n---\n\nBody text here.\n",
        max_bytes=10_000,
    )  # fmt: skip
    assert (md.id, md.title, md.text.strip(), md.path) == (
        "my-notes", "Front title", "Body text here.", None
    )  # fmt: skip
    html = adding.article_from_upload(
        "page.html",
        b"<html><head><title>Page title</title></head><body><article><p>"
        + b"Paragraph one is long enough to be kept as the article text. " * 5
        + b"</p></article></body></html>",
        max_bytes=10_000,
    )
    assert html.title == "Page title" and "Paragraph one" in html.text
    pdf = adding.article_from_upload("Bridge Vote.pdf", make_pdf(STORY), max_bytes=10_000)
    assert (pdf.id, pdf.title, pdf.path) == ("bridge-vote", "Council backs new bridge", None)
    assert pdf.text.split("\n\n") == PARAGRAPHS
    with pytest.raises(BadArticleError, match="is not a readable PDF"):
        adding.article_from_upload("x.pdf", b"%PDF-1.4", max_bytes=10_000)
    with pytest.raises(BadArticleError):
        adding.article_from_upload("empty.txt", b"   ", max_bytes=10_000)
    with pytest.raises(BadArticleError):
        adding.article_from_upload("binary.txt", b"\x00\x01\x02" * 100, max_bytes=10_000)


def test_stamp_records_provenance_and_title_override() -> None:
    article = article_from_text("Some text.", title="Old")
    stamped = adding.stamp(article, title=" New ", added_by="alice (Discord 1)", added_at=WHEN)
    assert stamped.title == "New"
    assert stamped.extra == {
        "added_by": "alice (Discord 1)",
        "added_at": "2024-05-01T12:00:00+00:00",
    }
    assert adding.stamp(article, title=None, added_by="x", added_at=WHEN).title == "Old"


def test_store_article_writes_front_matter_and_reports_duplicates(services: Services) -> None:
    [scoped] = services.engines.opened()
    article = adding.stamp(
        article_from_text("Tides rise twice a day along this coast.", title="Tide tables"),
        title=None,
        added_by="alice (Discord 1)",
        added_at=WHEN,
    )
    outcome = adding.store_article(scoped, article)
    assert outcome.already is None and outcome.chunks >= 1
    assert adding.outcome_text(outcome) == (
        f"Added “Tide tables” (`tide-tables`): {outcome.chunks} chunk"
        + ("s" if outcome.chunks != 1 else "")
        + " indexed."
    )
    saved = services.settings.articles_dir / "tide-tables.md"
    [reloaded] = load_file(saved, root=services.settings.articles_dir, max_bytes=10_000)
    assert reloaded.title == "Tide tables"
    assert reloaded.extra["added_by"] == "alice (Discord 1)"
    assert reloaded.extra["added_at"] == "2024-05-01T12:00:00+00:00"

    same = adding.stamp(article, title=None, added_by="bob (Discord 2)", added_at=WHEN)
    again = adding.store_article(scoped, same)
    assert adding.outcome_text(again) == "Already indexed: “Tide tables”."
    copy = article_from_text("Tides rise twice a day along this coast.", title="Other name")
    assert adding.store_article(scoped, copy).already == "Tide tables"
    assert not (services.settings.articles_dir / "other-name.md").exists()  # taken back out
    clash = article_from_text("Completely different text.", title="Tide tables")
    with pytest.raises(ArticleExistsError, match="already uses the id `tide-tables`"):
        adding.store_article(scoped, clash)


def test_remove_by_id_or_title(services: Services) -> None:
    [scoped] = services.engines.opened()
    assert managing.resolve_article_id(scoped.engine, "bees") == "bees"
    assert managing.resolve_article_id(scoped.engine, "High-speed trains in Europe") == "trains"
    removed = managing.remove_by_value(scoped, "How volcanoes erupt")
    assert managing.removed_text(removed) == "Removed “How volcanoes erupt” (`volcanoes`)."
    assert not (services.settings.articles_dir / "volcanoes.md").exists()
    with pytest.raises(AmbiguousArticleError, match="No single article matches"):
        managing.resolve_article_id(scoped.engine, "e")  # many match


def test_autocomplete_choices(services: Services) -> None:
    [scoped] = services.engines.opened()
    assert managing.choices(scoped.engine, "bee") == [("The life of honey bees", "bees")]
    assert len(managing.choices(scoped.engine, "")) == 4
    assert managing.shorten_plain("x" * 150, 100) == "x" * 99 + "…"


async def test_reindex_refuses_a_second_run(services: Services) -> None:
    [scoped] = services.engines.opened()
    async with scoped.reindex_lock:
        with pytest.raises(IndexBusyError, match="already running"):
            await managing.reindex(scoped)
    text = await managing.reindex(scoped)
    assert text.startswith("Reindexed the shared collection from its articles folder: 0 added")
