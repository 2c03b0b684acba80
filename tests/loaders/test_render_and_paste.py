"""Writing articles back to disk (round trip, atomic, no silent overwrite) and pasted text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retrieval.documents import Article
from retrieval.errors import ArticleExistsError, BadArticleError
from retrieval.loaders import (
    article_from_text,
    load_file,
    load_folder,
    render_markdown,
    write_article_file,
)

from .helpers import MAX_BYTES, SAMPLE_SCRAPE


def _article(**changes: object) -> Article:
    fields: dict[str, object] = {
        "id": "budget-talks",
        "title": "Budget talks: “no deal” yet — 2024",
        "text": "# A heading in the body\n\n---\n\nTalks stalled.\n  Indented line.\n\n\nThree.",
        "url": "https://example.com/budget?x=1",
        "published": dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        "updated": dt.datetime(2024, 3, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "source": "Example: News",
        "author": "Ann O'Lee",
        "extra": {"added_by": "alice#1234", "added_at": "2024-03-02T10:00:00+00:00", "n": "3"},
    }
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


def test_render_then_load_gives_the_same_article(root: Path) -> None:
    article = _article()
    path = write_article_file(root, article)
    assert path == root / "budget-talks.md"
    [loaded] = load_file(path, root=root, max_bytes=MAX_BYTES)
    assert loaded == Article(**{**article.__dict__, "path": "budget-talks.md"})
    assert loaded.content_hash == article.content_hash


def test_round_trip_of_minimal_and_scraped_articles(root: Path) -> None:
    [scraped] = load_file(SAMPLE_SCRAPE, max_bytes=MAX_BYTES)
    for article in (
        _article(url=None, published=None, source=None, author=None, extra={}),
        scraped,
    ):
        [loaded] = load_file(write_article_file(root, article), root=root, max_bytes=MAX_BYTES)
        assert (loaded.title, loaded.text, loaded.url, loaded.extra) == (
            article.title,
            article.text,
            article.url,
            article.extra,
        )


def test_render_puts_front_matter_first() -> None:
    rendered = render_markdown(_article())
    assert rendered.startswith("---\ntitle: ")
    assert rendered.endswith("\n\nThree.\n")
    keys = [line.split(":")[0] for line in rendered.split("---\n")[1].splitlines()]
    assert keys[:6] == ["title", "url", "published", "updated", "source", "author"]


def test_write_refuses_to_overwrite_other_content(root: Path) -> None:
    path = write_article_file(root, _article())
    original = path.read_bytes()
    assert write_article_file(root, _article()) == path  # same content: nothing to do
    with pytest.raises(ArticleExistsError, match="already exists"):
        write_article_file(root, _article(text="Different text."))
    assert path.read_bytes() == original
    write_article_file(root, _article(text="Different text."), overwrite=True)
    [loaded] = load_file(path, root=root, max_bytes=MAX_BYTES)
    assert loaded.text == "Different text."


def test_write_is_atomic_and_leaves_no_temp_files(root: Path) -> None:
    write_article_file(root, _article())
    write_article_file(root, _article(text="v2"), overwrite=True)
    write_article_file(root, _article(id="sub/nested-one", url=None, text="Other."))
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    assert names == ["budget-talks.md", "sub", "sub/nested-one.md"]
    assert (root / "budget-talks.md").stat().st_mode & 0o777 == 0o644
    assert [a.id for a in load_folder(root, max_bytes=MAX_BYTES).articles] == [
        "budget-talks",
        "sub/nested-one",
    ]


def test_failed_write_keeps_the_old_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_article_file(root, _article())
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("retrieval.files.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_article_file(root, _article(text="new"), overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in root.iterdir()] == ["budget-talks.md"]


@pytest.mark.parametrize("bad_id", ["../escape", "a/../../b", "/abs", "", "with space", ".hidden"])
def test_write_refuses_ids_that_are_not_safe_file_names(root: Path, bad_id: str) -> None:
    with pytest.raises(BadArticleError, match="cannot be used as a file name"):
        write_article_file(root, _article(id=bad_id))
    assert list(root.iterdir()) == []


def test_pasted_text_with_title_and_metadata() -> None:
    article = article_from_text(
        "\r\n  First line kept as typed.\r\nSecond line.\r\n\r\n",
        title="Council approves park",
        url="https://example.com/park",
        published="2024-05-01",
        added_by="bob",
    )
    assert article.id == "council-approves-park"
    assert article.text == "  First line kept as typed.\nSecond line."
    assert (article.url, article.published, article.extra) == (
        "https://example.com/park",
        dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        {"added_by": "bob"},
    )


def test_pasted_scrape_is_cleaned_and_titled(sample_text: str) -> None:
    article = article_from_text(sample_text, title=None)
    assert article.title == "Kerry seeks ‘real progress’ on Syria at Moscow talks"
    assert article.id == "kerry-seeks-real-progress-on-syria-at-moscow-talks"
    assert article.text.endswith("Reuters")


def test_pasted_text_titles_fall_back_to_heading_then_first_line() -> None:
    assert article_from_text("# Hello world\n\nBody.", title=None).title == "Hello world"
    untitled = article_from_text("Just one line of text that someone pasted.", title=None)
    assert untitled.title == "Just one line of text that someone pasted."
    assert article_from_text("日本語の記事です。", title=None).id.startswith("pasted-")
    assert article_from_text("x", title="T", article_id="given").id == "given"


def test_pasted_empty_text_is_refused() -> None:
    with pytest.raises(BadArticleError, match="empty"):
        article_from_text(" \n\t ", title="Nothing")


@pytest.fixture
def sample_text() -> str:
    return SAMPLE_SCRAPE.read_text(encoding="utf-8")
