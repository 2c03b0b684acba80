"""Builders for hits and results, so embed tests can push every limit."""

from __future__ import annotations

import datetime as dt

from retrieval.search.results import Hit, SearchResult


def make_hit(
    excerpt: str,
    *,
    highlight: str | None = None,
    title: str = "A story",
    article_id: str = "a-story",
    url: str | None = None,
    published: dt.datetime | None = None,
    updated: dt.datetime | None = None,
    link: str | None = None,
    source: str | None = None,
    relevance: float = 0.5,
    chunk_id: int = 1,
    label: str | None = "good match",
) -> Hit:
    """A hit whose excerpt starts at article offset 100; `highlight` must occur in it."""
    highlight = highlight if highlight is not None else excerpt
    at = excerpt.index(highlight)
    start = 100
    return Hit(
        article_id=article_id,
        title=title,
        url=url,
        published=published,
        updated=updated,
        link=link,
        source=source,
        chunk_id=chunk_id,
        ordinal=0,
        start=start,
        end=start + len(excerpt),
        excerpt=excerpt,
        highlight_start=start + at,
        highlight_end=start + at + len(highlight),
        highlight=highlight,
        score=0.5,
        dense_score=0.5,
        bm25_score=1.0,
        relevance=relevance,
        label=label,
    )


def make_result(hits: list[Hit], *, abstained: bool = False, nearest: list[str] | None = None,
                has_more: bool = False) -> SearchResult:  # fmt: skip
    return SearchResult(
        question="q",
        mode="hybrid",
        hits=hits,
        abstained=abstained,
        confidence=0.5,
        nearest=nearest or [],
        has_more=has_more,
    )
