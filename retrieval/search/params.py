"""The knobs of one search, resolved from settings and the caller's choices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from retrieval.dates import TimeWindow
from retrieval.settings import FusionMethod, RetrievalSettings, SearchMode


@dataclass(frozen=True)
class TimeParams:
    """How time shapes one search (see retrieval/search/recency.py for the weighting)."""

    now: dt.datetime  # when the question is asked (aware)
    hide_after_now: bool = False  # answering as of a past moment: later articles are unseen
    window: TimeWindow | None = None  # only articles published inside it
    recency: bool = False  # the question asks for the current state of things
    browse: bool = False  # the question is only its window ("What happened yesterday?")
    recency_weight: float = 0.0
    later_reports_weight: float = 0.0
    recency_half_life_days: float = 1.0
    freshness_weight: float = 0.0
    freshness_half_life_days: float = 7.0


@dataclass(frozen=True)
class SearchParams:
    mode: SearchMode
    k: int
    offset: int
    candidates: int
    per_article_cap: int
    fusion: FusionMethod
    rrf_k: int
    dense_weight: float
    bm25_weight: float
    abstain_threshold: float | None  # None: never abstain
    feedback_docs: int = 0
    feedback_terms: int = 10
    feedback_weight: float = 0.5
    feedback_blend: float = 0.5
    sentence_weight: float = 0.0
    sentence_cosine_weight: float = 0.0
    rerank_depth: int = 30
    time: TimeParams | None = None  # None: time plays no part (undated collections, --no-time)
    cut_page: bool = True  # the first page stops at a clear drop in relevance (confidence.py)

    @classmethod
    def from_settings(
        cls,
        settings: RetrievalSettings,
        *,
        mode: SearchMode | None = None,
        k: int | None = None,
        offset: int = 0,
        abstain: bool = True,
    ) -> SearchParams:
        return cls(
            mode=mode or settings.search_mode,
            k=k or settings.top_k,
            offset=offset,
            candidates=settings.candidates,
            per_article_cap=settings.per_article_cap,
            fusion=settings.fusion,
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            bm25_weight=settings.bm25_weight,
            abstain_threshold=settings.abstain_threshold if abstain else None,
            feedback_docs=settings.feedback_docs,
            feedback_terms=settings.feedback_terms,
            feedback_weight=settings.feedback_weight,
            feedback_blend=settings.feedback_blend,
            sentence_weight=settings.sentence_weight,
            sentence_cosine_weight=settings.sentence_cosine_weight,
            rerank_depth=settings.rerank_depth,
        )
