"""Raw page scrapes: boilerplate around the story goes, the story stays byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.loaders import load_file
from retrieval.loaders.scrape import LineKind, classify_line, clean_scrape

from .helpers import MAX_BYTES, SAMPLE_SCRAPE, write

BOILERPLATE = ("From the news desk", "Share this article", "WhatsApp WhatsApp us", "Wait a sec")


def test_reuters_sample_title_and_body() -> None:
    [article] = load_file(SAMPLE_SCRAPE, root=SAMPLE_SCRAPE.parent, max_bytes=MAX_BYTES)
    assert article.title == "Kerry seeks ‘real progress’ on Syria at Moscow talks"
    assert article.id == "kerry-seeks-real-progress-on-syria"
    assert article.path == "kerry-seeks-real-progress-on-syria.txt"
    assert article.text.startswith("U.S. Secretary of State John Kerry said")
    assert article.text.endswith("Reuters")
    for line in article.text.split("\n"):
        assert not line.startswith(BOILERPLATE), line
    assert article.title not in article.text


def test_reuters_sample_text_is_verbatim() -> None:
    original = SAMPLE_SCRAPE.read_text(encoding="utf-8")
    [article] = load_file(SAMPLE_SCRAPE, max_bytes=MAX_BYTES)
    paragraphs = [p for p in article.text.split("\n\n") if p.strip()]
    assert len(paragraphs) >= 20
    for paragraph in paragraphs:
        assert paragraph in original
    # Every prose line of the original survives, in order.
    prose = [line for line in original.split("\n") if len(line.split()) > 12]
    assert "\n".join(line for line in article.text.split("\n") if line.strip()) == "\n".join(prose)


@pytest.mark.parametrize(
    "line",
    [
        "Share this article",
        "WhatsApp WhatsApp us",
        "Share on Facebook | Twitter | Email",
        "Advertisement",
        "Story continues below advertisement",
        "We use cookies to improve your experience. By continuing you agree to our policy.",
        "Accept all cookies",
    ],
)
def test_share_cookie_and_ad_lines_are_boilerplate_anywhere(line: str) -> None:
    assert classify_line(line) is LineKind.ANYWHERE


@pytest.mark.parametrize(
    "line",
    [
        "Skip to content",
        "Sign up",
        "Subscribe to our newsletter",
        "Read more",
        "Follow us on Instagram",
        "Loading...",
        "Wait a sec, saving restore vars.",
        "Related articles",
        "© 2024 Example Media. All rights reserved.",
        "4 min read",
    ],
)
def test_navigation_lines_are_edge_boilerplate(line: str) -> None:
    assert classify_line(line) is LineKind.EDGE


@pytest.mark.parametrize(
    "line",
    [
        "Facebook shares fell 5% after the results were published.",
        "Sign up for the draft opened on Monday, officials said.",
        "Latest figures show inflation rose to 5 per cent in March.",
        "Loading of the cargo began at dawn and lasted six hours.",
        "Readers who share this article with friends helped it spread across the region quickly.",
    ],
)
def test_prose_is_never_boilerplate(line: str) -> None:
    assert classify_line(line) is LineKind.PROSE


def test_generic_scrape_with_nav_cookie_and_mid_body_ad() -> None:
    page = "\n".join(
        [
            "Skip to content",
            "Menu",
            "World",
            "Storm floods coastal towns across the region",
            "By Jane Doe",
            "We use cookies to give you the best experience on our website.",
            "",
            "Heavy rain flooded dozens of coastal towns on Sunday, forcing thousands to leave.",
            "",
            "Advertisement",
            "",
            "Officials said the water would recede by Wednesday if the rain stopped.",
            "",
            "Read more",
            "Sign up for our newsletter",
            "Follow us",
        ]
    )
    cleaned = clean_scrape(page)
    assert cleaned is not None
    assert cleaned.title == "Storm floods coastal towns across the region"
    assert cleaned.text == (
        "Heavy rain flooded dozens of coastal towns on Sunday, forcing thousands to leave.\n\n"
        "Officials said the water would recede by Wednesday if the rain stopped."
    )


def test_ordinary_note_is_left_alone(root: Path) -> None:
    note = "Meeting notes\n\nWe agreed to move the launch to May.\n\nNext steps: hire two people.\n"
    assert clean_scrape(note) is None
    path = write(root, "notes.txt", note)
    [article] = load_file(path, root=root, max_bytes=MAX_BYTES)
    assert article.text == note.strip()
    assert article.title == "Notes"


def test_front_matter_turns_scrape_cleaning_off(root: Path) -> None:
    text = "---\ntitle: Kept as is\n---\nShare this article\n\nA sentence of the body text here.\n"
    [article] = load_file(write(root, "a.txt", text), root=root, max_bytes=MAX_BYTES)
    assert article.text == "Share this article\n\nA sentence of the body text here."
