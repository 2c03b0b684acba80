"""What a search returns: hits with everything needed to cite them, or an abstention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    chunk_id: int
    ordinal: int
    start: int  # excerpt == article.text[start:end]
    end: int
    excerpt: str
    highlight_start: int  # the best-matching sentence, in article coordinates
    highlight_end: int
    highlight: str
    score: float  # fused score (the ranking key)
    dense_score: float | None  # cosine similarity, when the dense retriever ran
    bm25_score: float | None  # raw BM25 score, when BM25 ranked this chunk
    relevance: float  # 0..1, what a reader is shown: how close the excerpt is to the question


class HitJson(TypedDict):
    """One hit in `SearchResult.as_json`."""

    article_id: str
    title: str
    url: str | None
    published: str | None
    excerpt: str
    start: int
    end: int
    score: float
    dense_score: float | None
    bm25_score: float | None
    highlight: str


class SearchResultJson(TypedDict):
    """`SearchResult.as_json`: what `newsdesk ask --json` prints."""

    question: str
    abstained: bool
    confidence: float
    hits: list[HitJson]
    nearest: list[str]


@dataclass(frozen=True)
class SearchResult:
    question: str
    mode: str
    hits: list[Hit]
    abstained: bool
    confidence: float
    nearest: list[str] = field(default_factory=list)  # titles, when abstained
    ranked_article_ids: list[str] = field(
        default_factory=list
    )  # every candidate article, best first
    has_more: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> SearchResultJson:
        """The stable machine-readable form (`newsdesk ask --json`)."""
        return {
            "question": self.question,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "hits": [
                {
                    "article_id": h.article_id,
                    "title": h.title,
                    "url": h.url,
                    "published": h.published,
                    "excerpt": h.excerpt,
                    "start": h.start,
                    "end": h.end,
                    "score": round(h.score, 6),
                    "dense_score": None if h.dense_score is None else round(h.dense_score, 4),
                    "bm25_score": None if h.bm25_score is None else round(h.bm25_score, 4),
                    "highlight": h.highlight,
                }
                for h in self.hits
            ],
            "nearest": self.nearest,
        }
