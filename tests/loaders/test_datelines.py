"""Dates in bylines and datelines at the top of bodies: found by line, parsed by dateparser,
front matter first, the text left as it was."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from retrieval.loaders import load_file
from retrieval.loaders.datelines import HEAD_LINES, body_dates
from retrieval.loaders.pasted import article_from_text

from .helpers import MAX_BYTES, SAMPLE_SCRAPE, write

UTC = dt.UTC
STORY = "U.S. Secretary of State John Kerry said he wanted to make real progress on Syria."


def test_an_ap_updated_line_dates_a_yearless_reuters_dateline() -> None:
    text = f"Updated 3:45 PM GMT, December 15, 2015\n\nMOSCOW, Dec 15 (Reuters) - {STORY}"
    published, updated = body_dates(text, where="kerry.txt")
    assert published == dt.datetime(2015, 12, 15, tzinfo=UTC)
    assert updated == dt.datetime(2015, 12, 15, 15, 45, tzinfo=UTC)


def test_a_dateline_is_never_after_the_update_that_gives_its_year() -> None:
    text = f"Updated 9:00 AM GMT, January 2, 2016\n\nDec 31 (Reuters) - {STORY}"
    published, updated = body_dates(text, where="x.txt")
    assert published == dt.datetime(2015, 12, 31, tzinfo=UTC)
    assert updated == dt.datetime(2016, 1, 2, 9, 0, tzinfo=UTC)


def test_a_dateline_without_a_year_known_is_refused() -> None:
    assert body_dates(f"Dec 15 (Reuters) - {STORY}", where="x.txt") == (None, None)
    dated = body_dates(f"LONDON, Dec 15, 2015 (AP) — {STORY}", where="x.txt")
    assert dated == (dt.datetime(2015, 12, 15, tzinfo=UTC), None)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("*By Priya Nair — 12 May 2025*", dt.datetime(2025, 5, 12, tzinfo=UTC)),
        ("By Jane Doe, December 15, 2015", dt.datetime(2015, 12, 15, tzinfo=UTC)),
        ("By Jane Doe | Reuters | Dec. 15, 2015", dt.datetime(2015, 12, 15, tzinfo=UTC)),
        ("Published: 2015-12-15T10:00:00+01:00", dt.datetime(2015, 12, 15, 9, 0, tzinfo=UTC)),
        ("15 December 2015", dt.datetime(2015, 12, 15, tzinfo=UTC)),
    ],
)
def test_bylines_and_date_lines(line: str, expected: dt.datetime) -> None:
    published, updated = body_dates(f"{line}\n\n{STORY}", where="x.md")
    assert published == expected and updated is None


def test_published_and_updated_on_one_line() -> None:
    line = "Published 10:00 AM, Dec 15, 2015 | Updated 3:45 PM GMT, December 16, 2015"
    published, updated = body_dates(f"{line}\n\n{STORY}", where="x.txt")
    assert published == dt.datetime(2015, 12, 15, 10, 0, tzinfo=UTC)
    assert updated == dt.datetime(2015, 12, 16, 15, 45, tzinfo=UTC)


def test_an_updated_line_alone_is_the_story_s_only_date() -> None:
    published, updated = body_dates(f"Updated Dec 16, 2015\n\n{STORY}", where="x.txt")
    assert (published, updated) == (dt.datetime(2015, 12, 16, tzinfo=UTC), None)


def test_relative_values_are_refused_with_a_warning_naming_the_file(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert body_dates(f"Updated 2 hours ago\n\n{STORY}", where="news/x.txt") == (None, None)
    [record] = caplog.records
    assert "news/x.txt" in record.getMessage() and "2 hours ago" in record.getMessage()


@pytest.mark.parametrize(
    "head", ["2015", "42 dead as storm hits", "Posted by Jane Doe", "Share this article"]
)
def test_numbers_and_other_short_lines_are_no_dates(head: str) -> None:
    assert body_dates(f"{head}\n\n{STORY}", where="x.txt") == (None, None)


def test_only_the_first_lines_are_looked_at() -> None:
    filler = "\n".join(f"Line {n} of the story goes on." for n in range(HEAD_LINES))
    assert body_dates(f"{filler}\n15 December 2015\n", where="x.txt") == (None, None)


def test_markdown_byline_dates_the_file_and_stays_in_the_text(root: Path) -> None:
    body = f"# Council votes\n\n*By Priya Nair — 12 May 2025*\n\n{STORY}\n"
    [article] = load_file(write(root, "council.md", body), root=root, max_bytes=MAX_BYTES)
    assert article.published == dt.datetime(2025, 5, 12, tzinfo=UTC)
    assert article.text.startswith("*By Priya Nair — 12 May 2025*")


def test_front_matter_wins_over_the_byline(root: Path) -> None:
    front = "---\ntitle: Council\npublished: 2025-05-13\n---\n"
    body = f"{front}*By Priya Nair — 12 May 2025*\n\n{STORY}\n"
    [article] = load_file(write(root, "council.md", body), root=root, max_bytes=MAX_BYTES)
    assert article.published == dt.datetime(2025, 5, 13, tzinfo=UTC)
    assert article.updated is None


def test_a_scrape_is_dated_by_lines_its_cleaning_drops(root: Path) -> None:
    scrape = SAMPLE_SCRAPE.read_text(encoding="utf-8")
    lines = scrape.split("\n")
    dated = "\n".join([*lines[:4], "Updated 3:45 PM GMT, December 15, 2015", "", *lines[4:]])
    dated = dated.replace("U.S. Secretary", "MOSCOW, Dec 15 (Reuters) - U.S. Secretary", 1)
    [article] = load_file(write(root, "kerry.txt", dated), root=root, max_bytes=MAX_BYTES)
    assert article.published == dt.datetime(2015, 12, 15, tzinfo=UTC)
    assert article.updated == dt.datetime(2015, 12, 15, 15, 45, tzinfo=UTC)
    assert "MOSCOW, Dec 15 (Reuters) - U.S. Secretary" in article.text  # quoted as written
    [undated] = load_file(SAMPLE_SCRAPE, root=SAMPLE_SCRAPE.parent, max_bytes=MAX_BYTES)
    assert (undated.published, undated.updated) == (None, None)


def test_pasted_text_is_dated_by_its_byline_unless_given_a_date() -> None:
    text = f"*By Priya Nair — 12 May 2025*\n\n{STORY}"
    assert article_from_text(text, title="Council").published == dt.datetime(
        2025, 5, 12, tzinfo=UTC
    )
    given = article_from_text(text, title="Council", published="2025-05-14")
    assert given.published == dt.datetime(2025, 5, 14, tzinfo=UTC)
    assert given.text == text
