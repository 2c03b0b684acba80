"""PDF articles: the text layer as paragraphs, metadata, and the PDFs that cannot be read."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError

from retrieval.collection import add_article, add_sources, sync_with_folder
from retrieval.engine import Engine
from retrieval.errors import BadArticleError
from retrieval.loaders import load_file, load_folder
from retrieval.loaders.pdf import article_from_pdf
from retrieval.settings import RetrievalSettings
from tests.loaders.helpers import MAX_BYTES, write
from tests.loaders.pdfs import PARAGRAPHS, STORY, make_pdf


def test_text_layer_becomes_paragraphs_of_prose() -> None:
    article = article_from_pdf(
        make_pdf(STORY), name="story.pdf", article_id="story", fallback_title="Story"
    )
    assert article.text.split("\n\n") == PARAGRAPHS
    assert article.title == "Council backs new bridge"  # the largest type on page one
    assert "Valley Herald" not in article.text and "Page 1" not in article.text
    assert (article.id, article.path, article.url) == ("story", None, None)


def test_a_layout_without_paragraph_spacing_is_read_by_indents_and_short_lines() -> None:
    page = (
        "The council voted on Monday to rebuild the old bridge over the\n"
        "river, after months of debate about its cost.\n"
        ">Work starts in June, the mayor said, and will take four months\n"
        "to finish before spring.\n"
        "The region pays half of the cost of the bridge over the river, the\n"
        "rest comes from the town."
    )
    article = article_from_pdf(
        make_pdf([page], gap=0), name="a.pdf", article_id="a", fallback_title="A"
    )
    assert article.text.split("\n\n") == [
        "The council voted on Monday to rebuild the old bridge over the river, after months "
        "of debate about its cost.",
        "Work starts in June, the mayor said, and will take four months to finish before spring.",
        "The region pays half of the cost of the bridge over the river, the rest comes from "
        "the town.",
    ]


def test_a_paragraph_goes_on_across_a_page_break() -> None:
    pages = [
        "The council voted on Monday to rebuild the old bridge over the river, after",
        "months of debate about its cost.",
    ]
    article = article_from_pdf(make_pdf(pages), name="a.pdf", article_id="a", fallback_title="A")
    assert article.text == (
        "The council voted on Monday to rebuild the old bridge over the river, after months "
        "of debate about its cost."
    )


def test_a_wrapped_line_starting_with_a_dash_is_no_list_item() -> None:
    page = (
        "The old bridge over the river, which the council voted on Monday to rebuild\n"
        "– at a cost of 4.2 million euros – has been closed to lorries since last winter."
    )
    article = article_from_pdf(make_pdf([page]), name="a.pdf", article_id="a", fallback_title="A")
    assert article.text == " ".join(page.split("\n"))


def test_pages_of_nothing_but_repeated_lines_are_kept() -> None:
    page = "Council backs new bridge after months of debate\nThe vote was eleven to four."
    article = article_from_pdf(
        make_pdf([page, page]), name="a.pdf", article_id="a", fallback_title="A"
    )
    assert "The vote was eleven to four." in article.text


def test_metadata_title_author_and_dates() -> None:
    data = make_pdf(
        STORY,
        metadata={
            "/Title": "Bridge vote: what the council decided",
            "/Author": "Priya Nair",
            "/CreationDate": "D:20250304101500+01'00'",
            "/ModDate": "D:20250305090000Z",
        },
    )
    article = article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S")
    assert article.title == "Bridge vote: what the council decided"
    assert article.author == "Priya Nair"
    assert article.published == dt.datetime(
        2025, 3, 4, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert article.updated == dt.datetime(2025, 3, 5, 9, 0, tzinfo=dt.UTC)
    assert article.text.startswith("Council backs new bridge\n\n")  # not the title: kept


def test_dates_without_a_zone_are_utc_and_a_resave_is_no_update() -> None:
    data = make_pdf(
        STORY, metadata={"/CreationDate": "D:20250304101500", "/ModDate": "D:20250304101503"}
    )
    article = article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S")
    assert article.published == dt.datetime(2025, 3, 4, 10, 15, tzinfo=dt.UTC)
    assert article.updated is None


@pytest.mark.parametrize(
    ("meta", "published"),
    [
        ({"/CreationDate": "D:2025"}, None),  # no day: not a date
        ({"/CreationDate": "yesterday"}, None),
        ({"/CreationDate": "D:19700101000000Z"}, None),  # a zeroed clock
        ({"/ModDate": "D:20250304"}, dt.datetime(2025, 3, 4, tzinfo=dt.UTC)),  # the only date
    ],
)
def test_metadata_dates_that_are_no_dates(
    meta: dict[str, str], published: dt.datetime | None
) -> None:
    article = article_from_pdf(
        make_pdf(STORY, metadata=meta), name="s.pdf", article_id="s", fallback_title="S"
    )
    assert (article.published, article.updated) == (published, None)


@pytest.mark.parametrize(
    "junk",
    ["Untitled", "Microsoft Word - bridge_final.docx", "Document1", "scan0042", "layout 1",
     "report_final_v2", "bridge.indd", "   ", "12345"],
)  # fmt: skip
def test_file_and_template_names_are_no_title(junk: str) -> None:
    data = make_pdf(STORY, metadata={"/Title": junk, "/Author": "Administrator"})
    article = article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S")
    assert article.title == "Council backs new bridge"
    assert article.author is None


def test_without_title_or_heading_the_fallback_names_it() -> None:
    data = make_pdf(["The council voted on Monday to rebuild the old bridge over the river."])
    article = article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="Bridge vote")
    assert article.title == "Bridge vote"


def test_a_heading_in_body_type_is_the_title_when_it_reads_like_one() -> None:
    pages = ["Council backs new bridge\n\nThe council voted on Monday to rebuild the bridge."]
    article = article_from_pdf(make_pdf(pages), name="s.pdf", article_id="s", fallback_title="S")
    assert (article.title, article.text) == (
        "Council backs new bridge",
        "The council voted on Monday to rebuild the bridge.",
    )


def test_a_scanned_pdf_has_no_text_layer() -> None:
    with pytest.raises(BadArticleError) as caught:
        article_from_pdf(
            make_pdf(["", "", "2"]), name="scan.pdf", article_id="s", fallback_title="S"
        )
    assert str(caught.value) == (
        "scan.pdf has no text layer (a scanned PDF?); newsdesk needs PDFs with selectable text"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 not a page",
        make_pdf(STORY)[:400],  # cut off
        make_pdf(STORY).replace(b"/Pages", b"/Nopes"),
        b"%PDF-1.4\n" + bytes(range(256)) * 40,
    ],
    ids=["header-only", "truncated", "no-page-tree", "garbage"],
)
def test_a_damaged_pdf_is_refused_in_one_line_and_quietly(
    data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BadArticleError, match=r"^bad\.pdf is (not a readable PDF|a PDF without)"):
        article_from_pdf(data, name="bad.pdf", article_id="b", fallback_title="B")
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_a_password_protected_pdf_is_refused() -> None:
    data = make_pdf(STORY, user_password="secret", owner_password="owner")
    with pytest.raises(BadArticleError, match=r"^s\.pdf is protected by a password"):
        article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S")


def test_a_pdf_encrypted_only_against_printing_is_read() -> None:
    data = make_pdf(STORY, owner_password="owner")
    article = article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S")
    assert article.text.split("\n\n") == PARAGRAPHS


@pytest.mark.parametrize("where", ["decrypt", "extract_text"])
def test_a_pdf_encrypted_with_aes_is_refused_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """AES needs the `cryptography` package, which pypdf asks for when it first decrypts."""

    def needs_cryptography(*args: object, **kwargs: object) -> object:
        raise DependencyError("cryptography is required for AES algorithm")

    data = make_pdf(STORY, owner_password="owner")
    target = PdfReader if where == "decrypt" else PageObject
    monkeypatch.setattr(target, where, needs_cryptography)
    with pytest.raises(BadArticleError, match=r"^s\.pdf is encrypted in a way newsdesk cannot"):
        article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S")


def test_the_page_count_is_capped() -> None:
    data = make_pdf(STORY * 2)
    message = r"s\.pdf has 4 pages; newsdesk reads PDFs of at most 3 pages"
    with pytest.raises(BadArticleError, match=message):
        article_from_pdf(data, name="s.pdf", article_id="s", fallback_title="S", max_pages=3)


def test_load_file_and_load_folder_read_pdfs(root: Path) -> None:
    write(root, "news/Bridge Vote.pdf", make_pdf(STORY))
    write(root, "zip.pdf", b"PK\x03\x04" + b"\x00" * 64)
    [article] = load_file(root / "news/Bridge Vote.pdf", root=root, max_bytes=MAX_BYTES)
    assert (article.id, article.path, article.title) == (
        "news/bridge-vote", "news/Bridge Vote.pdf", "Council backs new bridge"
    )  # fmt: skip
    assert article.text.split("\n\n") == PARAGRAPHS
    report = load_folder(root, max_bytes=MAX_BYTES)
    assert [a.id for a in report.articles] == ["news/bridge-vote"]
    assert report.skipped == [("zip.pdf", "zip.pdf looks like a zip archive, not a PDF")]
    with pytest.raises(BadArticleError, match="larger than the 1 kB limit"):
        load_file(root / "news/Bridge Vote.pdf", root=root, max_bytes=1_000)


def test_an_added_pdf_is_copied_into_the_folder_and_read_again_on_rebuild(
    engine: Engine, settings: RetrievalSettings, tmp_path: Path
) -> None:
    source = write(tmp_path / "incoming", "Bridge Vote.pdf", make_pdf(STORY))
    outcome = add_sources(engine, settings, [str(source)])
    assert (outcome.failed, outcome.report.added) == ([], ["bridge-vote"])
    copy = settings.articles_dir / "Bridge Vote.pdf"
    assert copy.read_bytes() == source.read_bytes()
    report = sync_with_folder(engine, settings, full=True)
    assert report.skipped == []
    stored = engine.get_article("bridge-vote")
    assert stored is not None and stored.text.split("\n\n") == PARAGRAPHS


def test_a_fetched_pdf_is_kept_as_markdown_that_reads_back_the_same(
    engine: Engine, settings: RetrievalSettings
) -> None:
    data = make_pdf(
        STORY,
        metadata={
            "/Author": "Priya Nair",
            "/CreationDate": "D:20250304101500+01'00'",
            "/ModDate": "D:20250305090000Z",
        },
    )
    url = "https://example.com/papers/bridge-vote.pdf"
    fetched = article_from_pdf(
        data, name="bridge-vote.pdf", article_id="example-com-bridge", fallback_title="B", url=url
    )
    outcome = add_article(engine, settings, fetched)
    assert outcome.report.added == ["web/example-com-bridge"]
    saved = settings.articles_dir / "web" / "example-com-bridge.md"
    [again] = load_file(saved, root=settings.articles_dir, max_bytes=MAX_BYTES)
    assert again.id == "web/example-com-bridge"
    assert (again.title, again.text, again.url, again.author) == (
        fetched.title, fetched.text, url, "Priya Nair"
    )  # fmt: skip
    assert (again.published, again.updated) == (fetched.published, fetched.updated)
