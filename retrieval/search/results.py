"""What a search returns: hits with everything needed to cite them, or an abstention."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TypedDict

from retrieval.dates import TimeWindow, iso
from retrieval.text.language import language_name


@dataclass(frozen=True)
class OtherCopy:
    """Another article of the same wire story (a near-duplicate), named beside a hit."""

    article_id: str
    title: str
    source: str | None


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    url: str | None
    published: dt.datetime | None
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
    relevance: float  # 0..1, the bar a reader is shown: the support, never rising down the page
    # The confidence that this passage answers (search/confidence.py: support) and its label,
    # "strong match", "good match" or "partial match", never above the hit before it; None
    # for a listing that matched no question (a window's articles).
    support: float = 0.0
    label: str | None = None
    updated: dt.datetime | None = None
    link: str | None = None  # the url, pointing at the quoted sentence (a text fragment)
    also_in: tuple[OtherCopy, ...] = ()  # other copies of the same story, not quoted


class OtherCopyJson(TypedDict):
    article_id: str
    title: str
    source: str | None


class HitJson(TypedDict):
    """One hit in `SearchResult.as_json`."""

    article_id: str
    title: str
    url: str | None
    link: str | None
    published: str | None  # ISO 8601
    updated: str | None
    source: str | None
    also_in: list[OtherCopyJson]
    excerpt: str
    start: int
    end: int
    score: float
    dense_score: float | None
    bm25_score: float | None
    highlight: str
    label: str | None  # the label shown: "strong match", "good match" or "partial match"
    support: float


class WindowJson(TypedDict):
    since: str | None
    before: str | None


class SearchResultJson(TypedDict):
    """`SearchResult.as_json`: what `newsdesk ask --json` prints."""

    question: str
    abstained: bool
    reason: str | None  # why it abstained: "vague", "no_match" or "empty_window"
    confidence: float
    hits: list[HitJson]
    left_out: int  # weaker matches after the page's clear drop in relevance, not shown
    nearest: list[str]
    window: WindowJson | None
    question_language: str | None
    language_note: str | None
    asked_at: str | None
    empty_window: bool
    newest_before_window: str | None
    newest_before_title: str | None
    newest_evidence: str | None
    newest_is_old: bool
    unmatched_window: WindowJson | None


@dataclass(frozen=True)
class TimeContext:
    """How time shaped a search: as of when it was asked, the window it kept to, whether
    newer evidence was preferred, and the dates a reply needs to be honest about."""

    asked_at: dt.datetime | None = None  # None: now, and nothing published later is hidden
    window: TimeWindow | None = None  # from operators, options or the question's words
    recency: bool = False  # the question asks for the current state of things
    empty_window: bool = False  # the window holds no article (visible at the time)
    # Then: the newest article before it, if any (what the asker most likely wants next).
    newest_before_window: dt.datetime | None = None
    newest_before_title: str | None = None
    # The newest date among the hits shown, and whether it is old for a question asking for
    # the latest (a reply then says "Newest article on this: 3 Mar 2024").
    newest_evidence: dt.datetime | None = None
    newest_is_old: bool = False
    # The window the question's words named when it held no article, so the hits are the
    # best matches from any date (a topic question's "on Saturday" may be an event's day).
    unmatched_window: TimeWindow | None = None


@dataclass(frozen=True)
class SearchResult:
    question: str
    mode: str
    hits: list[Hit]
    abstained: bool
    confidence: float
    # Why it abstained: "vague" (no specific word to search for), "no_match" (the collection
    # holds no good answer) or "empty_window" (no article in the time asked about).
    reason: str | None = None
    nearest: list[str] = field(default_factory=list)  # titles, when abstained
    ranked_article_ids: list[str] = field(
        default_factory=list
    )  # every candidate article, best first
    has_more: bool = False
    left_out: int = 0  # weaker matches cut from the first page (still behind "More results")
    timings_ms: dict[str, float] = field(default_factory=dict)
    time: TimeContext = field(default_factory=TimeContext)
    # The question's language when it is clearly not the model's (text/language.py), and
    # the model's: the reply says the collection is searched in that one.
    question_language: str | None = None
    searched_language: str | None = None
    # How much a follow-up's earlier questions counted (0..1, search/followup.py): above 0 a
    # reply says it was searched together with the earlier question.
    context_weight: float = 0.0

    def as_json(self) -> SearchResultJson:
        """The stable machine-readable form (`newsdesk ask --json`)."""
        return {
            "question": self.question,
            "abstained": self.abstained,
            "reason": self.reason,
            "confidence": round(self.confidence, 4),
            "hits": [
                {
                    "article_id": h.article_id,
                    "title": h.title,
                    "url": h.url,
                    "link": h.link,
                    "published": iso(h.published),
                    "updated": iso(h.updated),
                    "source": h.source,
                    "also_in": [
                        {"article_id": c.article_id, "title": c.title, "source": c.source}
                        for c in h.also_in
                    ],
                    "excerpt": h.excerpt,
                    "start": h.start,
                    "end": h.end,
                    "score": round(h.score, 6),
                    "dense_score": None if h.dense_score is None else round(h.dense_score, 4),
                    "bm25_score": None if h.bm25_score is None else round(h.bm25_score, 4),
                    "highlight": h.highlight,
                    "label": h.label,
                    "support": round(h.support, 4),
                }
                for h in self.hits
            ],
            "left_out": self.left_out,
            "nearest": self.nearest,
            "window": (
                {"since": iso(window.since), "before": iso(window.before)}
                if (window := self.time.window)
                else None
            ),
            "question_language": self.question_language,
            "language_note": language_note(self),
            "asked_at": iso(self.time.asked_at),
            "empty_window": self.time.empty_window,
            "newest_before_window": iso(self.time.newest_before_window),
            "newest_before_title": self.time.newest_before_title,
            "newest_evidence": iso(self.time.newest_evidence),
            "newest_is_old": self.time.newest_is_old,
            "unmatched_window": (
                {"since": iso(unmatched.since), "before": iso(unmatched.before)}
                if (unmatched := self.time.unmatched_window)
                else None
            ),
        }


def language_note(result: SearchResult) -> str | None:
    """'The collection is searched in English: …' for a question in another language."""
    if result.question_language is None or result.searched_language is None:
        return None
    searched = language_name(result.searched_language) or result.searched_language
    asked = language_name(result.question_language)
    looks = f"looks like {asked}" if asked else f"does not look like {searched}"
    return (
        f"The question {looks}; the collection is searched in {searched}, "
        f"so asking in {searched} finds more."
    )
