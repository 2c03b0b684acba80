"""Markdown and plain-text files: front matter, titles, ids, and every way a file can be bad."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from retrieval.documents import Article
from retrieval.errors import BadArticleError
from retrieval.loaders import load_file

from .helpers import MAX_BYTES, write


def load_one(path: Path, root: Path | None = None, max_bytes: int = MAX_BYTES) -> Article:
    [article] = load_file(path, root=root, max_bytes=max_bytes)
    return article


def test_front_matter_fields_and_extras(root: Path) -> None:
    text = (
        "---\n"
        "title: Budget talks stall\n"
        "url: https://example.com/budget\n"
        "published: 2024-03-01\n"
        "source: Example News\n"
        "author: Ann Lee\n"
        "added_by: alice#1234\n"
        "priority: 3\n"
        "draft: false\n"
        "tags: [economy, politics]\n"
        "---\n"
        "\n"
        "# Not the title\n"
        "\n"
        "Talks on the budget stalled on Friday.\n"
    )
    article = load_one(write(root, "politics/Budget Talks.md", text), root)
    assert article.title == "Budget talks stall"
    assert article.url == "https://example.com/budget"
    assert article.published == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    assert article.source == "Example News"
    assert article.author == "Ann Lee"
    assert article.extra == {
        "added_by": "alice#1234",
        "priority": "3",
        "draft": "false",
        "tags": '["economy", "politics"]',
    }
    assert article.text == "# Not the title\n\nTalks on the budget stalled on Friday."
    assert article.id == "politics/budget-talks"
    assert article.path == "politics/Budget Talks.md"


def test_markdown_heading_becomes_title_and_leaves_body(root: Path) -> None:
    text = "\n# Moon landing anniversary #\n\nFifty years ago, people walked on the Moon.\n"
    article = load_one(write(root, "moon.md", text), root)
    assert article.title == "Moon landing anniversary"
    assert article.text == "Fifty years ago, people walked on the Moon."


def test_setext_heading_and_stem_fallback(root: Path) -> None:
    article = load_one(write(root, "x.markdown", "Big news\n========\n\nBody here.\n"), root)
    assert (article.title, article.text) == ("Big news", "Body here.")
    article = load_one(write(root, "quarterly_report-2024.md", "Just text, no heading.\n"), root)
    assert article.title == "Quarterly report 2024"


def test_plain_text_keeps_a_leading_hash_line(root: Path) -> None:
    article = load_one(write(root, "notes.txt", "# not a heading in .txt\n\nBody.\n"), root)
    assert article.title == "Notes"
    assert article.text.startswith("# not a heading")


def test_body_is_verbatim_except_crlf_and_outer_blank_lines(root: Path) -> None:
    body = "  Indented first line.\r\n\r\n\r\nTabs\there  stay   as typed…\r\n“Quotes” too.  "
    article = load_one(write(root, "v.md", "\r\n\r\n" + body + "\r\n\r\n"), root)
    assert article.text == body.replace("\r\n", "\n").rstrip()


def test_utf8_bom_is_accepted(root: Path) -> None:
    article = load_one(write(root, "bom.md", b"\xef\xbb\xbf# Title\n\nBody.\n"), root)
    assert (article.title, article.text) == ("Title", "Body.")


def test_invalid_yaml_front_matter_is_refused(root: Path) -> None:
    path = write(root, "broken.md", "---\ntitle: [unclosed\nurl: x\n---\nBody.\n")
    with pytest.raises(
        BadArticleError, match=r"broken\.md has front matter that is not valid YAML"
    ):
        load_file(path, root=root, max_bytes=MAX_BYTES)


def test_front_matter_that_is_not_a_mapping_is_refused(root: Path) -> None:
    path = write(root, "list.md", "---\n- a\n- b\n---\nBody.\n")
    with pytest.raises(BadArticleError, match="key: value"):
        load_file(path, root=root, max_bytes=MAX_BYTES)


def test_unclosed_front_matter_is_just_text(root: Path) -> None:
    article = load_one(write(root, "rule.md", "---\nSome text after a rule.\n"), root)
    assert article.text == "---\nSome text after a rule."


def test_front_matter_without_body_is_refused(root: Path) -> None:
    path = write(root, "only-meta.md", "---\ntitle: Nothing else\n---\n\n\n")
    with pytest.raises(BadArticleError, match="no article text"):
        load_file(path, root=root, max_bytes=MAX_BYTES)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.txt", _zip_bytes(), r"notes\.txt looks like a zip archive, not text"),
        ("doc.md", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "looks like a PDF document"),
        ("pic.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a PNG image"),
        ("gz.txt", b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "looks like a gzip archive"),
        ("bin.txt", b"some text\x00\x01\x02 with NULs", "looks like binary data"),
        ("latin1.txt", "Café crème, déjà vu.".encode("latin-1"), "is not UTF-8 text"),
        ("utf16.txt", "hello".encode("utf-16"), "UTF-16"),
        ("zero.md", b"", r"zero\.md is empty"),
        ("blank.txt", b"  \n\t\n \r\n", "only whitespace"),
        ("page.html", _zip_bytes(), "looks like a zip archive"),
        ("empty.html", b"", "is empty"),
    ],
)
def test_bad_files_are_refused_with_a_message_naming_them(
    root: Path, filename: str, content: bytes, message: str
) -> None:
    path = write(root, filename, content)
    with pytest.raises(BadArticleError, match=message) as caught:
        load_file(path, root=root, max_bytes=MAX_BYTES)
    assert filename in str(caught.value)


def test_oversize_file_is_refused_without_reading_it_all(root: Path) -> None:
    path = write(root, "big.md", "word " * 5_000)
    with pytest.raises(BadArticleError, match=r"big\.md is larger than the 10 kB limit"):
        load_file(path, root=root, max_bytes=10_000)


def test_unsupported_suffix_is_refused(root: Path) -> None:
    with pytest.raises(BadArticleError, match="unsupported file type"):
        load_file(write(root, "a.docx", b"x"), root=root, max_bytes=MAX_BYTES)


def test_ids_are_stable_slugs_of_the_relative_path(root: Path) -> None:
    path = write(root, "World News/Été 2024_Report.MD", "Body.\n")
    first = load_one(path, root)
    assert first.id == "world-news/ete-2024-report"
    assert load_one(path, root).id == first.id
    assert load_one(path).id == "ete-2024-report"  # no root: the name alone
    assert load_one(write(root, "日本.md", "Body.\n"), root).id.startswith("x")


def test_path_outside_root_is_kept_whole(root: Path, tmp_path: Path) -> None:
    outside = write(tmp_path, "elsewhere/story.md", "Body.\n")
    article = load_one(outside, root)
    assert article.path == outside.as_posix()
    assert article.id == "story"


def test_yaml_aliases_are_refused(root: Path) -> None:
    bomb = "---\na: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n---\nBody\n"
    with pytest.raises(BadArticleError, match="not valid YAML"):
        load_file(write(root, "bomb.md", bomb), root=root, max_bytes=MAX_BYTES)
