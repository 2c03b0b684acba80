"""Test data shared by several test modules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from retrieval.documents import Article

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
EVAL = SHARED / "eval"
REUTERS = REPO / "articles" / "kerry-seeks-real-progress-on-syria.txt"
REUTERS_TITLE = "Kerry seeks ‘real progress’ on Syria at Moscow talks"


def make_article(article_id: str, title: str, text: str, **meta: str | dt.datetime) -> Article:
    return Article(id=article_id, title=title, text=text, **meta)  # type: ignore[arg-type]


SAMPLE_ARTICLES = [
    make_article(
        "volcanoes",
        "How volcanoes erupt",
        "Magma rises through the crust when pressure builds. Gas bubbles expand as the magma "
        "nears the surface. An eruption follows when the rock above can no longer hold it.\n\n"
        "Some volcanoes erupt explosively, throwing ash high into the atmosphere. Others let "
        "lava flow slowly down their flanks for weeks.",
        url="https://example.org/volcanoes",
    ),
    make_article(
        "bees",
        "The life of honey bees",
        "A honey bee colony has one queen, thousands of workers and a few hundred drones. "
        "Workers collect nectar and pollen from flowers. The queen lays up to two thousand "
        "eggs a day in spring.\n\nBees communicate the direction of food with a waggle dance.",
    ),
    make_article(
        "trains",
        "High-speed trains in Europe",
        "High-speed trains connect Paris, Brussels and London in a few hours. The Eurostar "
        "crosses the Channel Tunnel at up to 160 kilometres per hour. Spain runs the longest "
        "high-speed network in Europe.",
        published=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        source="Rail Review",
    ),
]
