"""Hybrid search over one snapshot: dense + BM25, fused, capped per article, highlighted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.fusion import (
    cap_per_article,
    convex_fusion,
    order_by_score,
    reciprocal_rank_fusion,
)
from retrieval.highlight import best_sentence
from retrieval.index.lexical import Analyzer
from retrieval.index.snapshot import Snapshot
from retrieval.results import Hit, SearchResult
from retrieval.settings import FusionMethod, RetrievalSettings, SearchMode

NEAREST_TITLES = 3


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
        )


def search_snapshot(
    snapshot: Snapshot,
    question: str,
    params: SearchParams,
    *,
    encode_query: Callable[[str], np.ndarray],
    analyzer: Analyzer,
) -> SearchResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round((now - clock) * 1000, 3)
        clock = now

    query_tokens = analyzer.tokens([question])[0]
    pool = max(params.candidates, params.offset + params.k)
    use_dense = params.mode in ("hybrid", "dense")
    use_bm25 = params.mode in ("hybrid", "bm25")

    query_vector: np.ndarray | None = None
    dense_rows = np.zeros(0, dtype=np.int64)
    if use_dense and len(snapshot.chunks):
        query_vector = encode_query(question)
        lap("encode")
        ids, _ = snapshot.dense.search(query_vector, pool)
        dense_rows = snapshot.chunks.rows_of(ids)
        lap("dense")
    bm25_rows = np.zeros(0, dtype=np.int64)
    bm25_scores = np.zeros(0, dtype=np.float32)
    all_bm25: np.ndarray | None = None
    if use_bm25 and len(snapshot.chunks):
        all_bm25 = snapshot.lexical.scores(query_tokens)
        bm25_rows, bm25_scores = snapshot.lexical.search(query_tokens, pool, all_bm25)
        lap("bm25")

    if params.mode == "hybrid" and params.fusion == "convex" and query_vector is not None:
        fused = convex_fusion(
            dense_rows,
            bm25_rows,
            snapshot.vectors,
            query_vector,
            all_bm25,
            snapshot.lexical.max_score(query_tokens),
            params.dense_weight,
            params.bm25_weight,
        )
    else:
        fused = reciprocal_rank_fusion(
            [
                (dense_rows, params.dense_weight if params.mode == "hybrid" else 1.0),
                (bm25_rows, params.bm25_weight if params.mode == "hybrid" else 1.0),
            ],
            params.rrf_k,
        )
    ordered = order_by_score(fused)
    article_of = snapshot.chunks.article_ids
    ranked_articles = list(dict.fromkeys(article_of[r] for r in ordered))
    capped = cap_per_article(ordered, article_of, params.per_article_cap)
    page = capped[params.offset : params.offset + params.k]
    lap("fusion")

    cosines: dict[int, float] = {}
    if query_vector is not None and page:
        # Cosine for every shown row, also those only BM25 found: vectors are unit length.
        sims = snapshot.vectors[np.array(page)] @ query_vector
        cosines = dict(zip(page, sims.tolist(), strict=True))
    bm25_by_row = dict(zip(bm25_rows.tolist(), bm25_scores.tolist(), strict=True))
    max_bm25 = snapshot.lexical.max_score(query_tokens) if use_bm25 else 0.0

    def relevance(row: int) -> float:
        if row in cosines:
            return max(0.0, min(1.0, cosines[row]))
        if max_bm25 > 0 and row in bm25_by_row:
            return max(0.0, min(1.0, bm25_by_row[row] / max_bm25))
        return 0.0

    top_rows = capped[:1]
    confidence = relevance(top_rows[0]) if top_rows else 0.0
    if query_vector is not None and capped[:1] and capped[0] not in cosines:
        confidence = float(snapshot.vectors[capped[0]] @ query_vector)
    abstained = not capped or (
        params.abstain_threshold is not None and confidence < params.abstain_threshold
    )

    hits: list[Hit] = []
    nearest: list[str] = []
    if abstained:
        nearest = [snapshot.articles[a].title for a in ranked_articles[:NEAREST_TITLES]]
    else:
        for row in page:
            hits.append(
                _hit(
                    snapshot,
                    row,
                    fused[row],
                    cosines.get(row),
                    bm25_by_row.get(row),
                    relevance(row),
                    query_tokens,
                    analyzer,
                )
            )
    lap("highlight")
    return SearchResult(
        question=question,
        mode=params.mode,
        hits=hits,
        abstained=abstained,
        confidence=confidence,
        nearest=nearest,
        ranked_article_ids=ranked_articles,
        has_more=not abstained and len(capped) > params.offset + params.k,
        timings_ms=timings,
    )


def _hit(
    snapshot: Snapshot,
    row: int,
    score: float,
    cosine: float | None,
    bm25: float | None,
    relevance: float,
    query_tokens: list[str],
    analyzer: Analyzer,
) -> Hit:
    article = snapshot.articles[snapshot.chunks.article_ids[row]]
    start, end = int(snapshot.chunks.starts[row]), int(snapshot.chunks.ends[row])
    h_start, h_end = best_sentence(
        article.text, start, end, query_tokens, analyzer.tokens, snapshot.lexical.idf
    )
    return Hit(
        article_id=article.id,
        title=article.title,
        url=article.url,
        published=article.published,
        source=article.source,
        chunk_id=int(snapshot.chunks.ids[row]),
        ordinal=int(snapshot.chunks.ordinals[row]),
        start=start,
        end=end,
        excerpt=article.text[start:end],
        highlight_start=h_start,
        highlight_end=h_end,
        highlight=article.text[h_start:h_end],
        score=score,
        dense_score=cosine,
        bm25_score=bm25,
        relevance=relevance,
    )
