"""Bulk JSONL import and whole-folder loading: bad input is reported, never fatal."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from retrieval.duplicates import dedupe
from retrieval.errors import BadArticleError, SourceNotFoundError
from retrieval.loaders import iter_article_files, load_file, load_folder
from tests.factories import EVAL

from .helpers import ARTICLES, MAX_BYTES, write


def _line(**record: object) -> str:
    return json.dumps(record, ensure_ascii=False)


def test_jsonl_loads_good_lines_and_warns_about_bad_ones(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    content = "\n".join(
        [
            _line(
                id="1973_oil_crisis", title="1973 oil crisis", text="The crisis began.", url="u1"
            ),
            "{not json",
            _line(id="no_text", title="No text"),
            "",
            _line(id="Fresno,_California", text="Fresno is a city.", lang="en"),
            "[1, 2]",
            _line(id="1973_oil_crisis", title="Again", text="Duplicate id."),
        ]
    )
    with caplog.at_level(logging.WARNING):
        articles = load_file(
            write(root, "bulk/squad.jsonl", content), root=root, max_bytes=MAX_BYTES
        )
    assert [a.id for a in articles] == ["1973_oil_crisis", "Fresno,_California"]
    assert articles[0].title == "1973 oil crisis"
    assert articles[0].url == "u1"
    assert articles[1].title == "Fresno, California"
    assert articles[1].extra == {"lang": "en"}
    assert {a.path for a in articles} == {"bulk/squad.jsonl"}
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    for lineno in (2, 3, 6, 7):
        assert f"bulk/squad.jsonl line {lineno} skipped" in warnings
    assert "line 5" not in warnings


def test_jsonl_with_no_usable_line_is_refused(root: Path) -> None:
    with pytest.raises(BadArticleError, match="no usable lines"):
        load_file(write(root, "bad.jsonl", "{}\n[]\n"), root=root, max_bytes=MAX_BYTES)


def test_eval_corpus_loads_whole() -> None:
    path = EVAL / "squad" / "articles_full.jsonl"
    articles = load_file(path, max_bytes=5_000_000)
    assert len(articles) == 48
    assert articles[0].id == "1973_oil_crisis"


def test_iter_article_files_is_sorted_and_skips_hidden_and_readme(root: Path) -> None:
    for name in [
        "README.md",
        "b.md",
        "a.txt",
        "sub/README.md",
        "sub/c.html",
        ".hidden.md",
        ".git/x.md",
        "sub/.tmp/y.md",
        "notes.docx",
        "d.JSONL",
    ]:
        write(root, name, "x")
    found = [p.relative_to(root).as_posix() for p in iter_article_files(root)]
    assert found == ["a.txt", "b.md", "d.JSONL", "sub/README.md", "sub/c.html"]


def test_load_folder_keeps_going_past_bad_files(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(root, "a-good.md", "# Good\n\nA good article.\n")
    write(root, "b-empty.txt", b"")
    write(root, "c-binary.txt", b"PK\x03\x04rest of a zip")
    write(root, "d-yaml.md", "---\ntitle: [oops\n---\nBody.\n")
    write(root, "e-latin1.md", "Café".encode("latin-1"))
    write(root, "f-good.txt", "Another good one, with different text.\n")
    write(root, "f-good.md", "Same id as f-good.txt but other text.\n")
    with caplog.at_level(logging.WARNING):
        report = load_folder(root, max_bytes=MAX_BYTES)
    assert [a.id for a in report.articles] == ["a-good", "f-good"]
    assert report.articles[1].path == "f-good.md"  # sorted: .md before .txt
    skipped = dict(report.skipped)
    assert set(skipped) == {"b-empty.txt", "c-binary.txt", "d-yaml.md", "e-latin1.md", "f-good.txt"}
    assert "zip archive" in skipped["c-binary.txt"]
    assert "already used by f-good.md" in skipped["f-good.txt"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for name in skipped:
        assert name in logged


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        load_folder(tmp_path / "nope", max_bytes=MAX_BYTES)


def test_shipped_articles_folder_loads_cleanly() -> None:
    report = load_folder(ARTICLES, max_bytes=5_000_000)
    assert report.skipped == []
    assert dedupe(report.articles)[1] == []  # no duplicates
    ids = [a.id for a in report.articles]
    assert "kerry-seeks-real-progress-on-syria" in ids
    wiki = [a for a in report.articles if a.id.startswith("wikipedia/")]
    assert len(wiki) == 12
    for article in wiki:
        assert article.source == "Wikipedia"
        assert article.extra["licence"] == "CC BY-SA 4.0"
        assert article.url is not None
        assert article.url.startswith("https://en.wikipedia.org/wiki/")
        assert article.title in article.extra["attribution"]


def test_shipped_wikipedia_text_matches_the_source_corpus() -> None:
    path = EVAL / "squad" / "articles_full.jsonl"
    source = {a.url: a.text for a in load_file(path, max_bytes=5_000_000)}
    report = load_folder(ARTICLES / "wikipedia", max_bytes=5_000_000)
    for article in report.articles:
        assert article.text == source[article.url]
