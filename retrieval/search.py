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
from retrieval.highlight import SentenceMatch, best_sentences
from retrieval.index.lexical import Analyzer
from retrieval.index.snapshot import Snapshot
from retrieval.results import Hit, SearchResult
from retrieval.settings import FusionMethod, RetrievalSettings, SearchMode

NEAREST_TITLES = 3
CONFIDENCE_COSINE_SHARE = 0.1
# How much of the confidence comes from the best single sentence among the first answers:
# a question whose rare words all sit in one sentence is very likely answered there.
CONFIDENCE_SENTENCE_SHARE = 0.3


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
    sentence_weight: float = 0.0
    rerank_depth: int = 30

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
            sentence_weight=settings.sentence_weight,
            rerank_depth=settings.rerank_depth,
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

    # The question vector is needed for the dense retriever and for the confidence score,
    # which is computed the same way in every mode so one threshold means one thing.
    query_vector: np.ndarray | None = None
    if (use_dense or params.abstain_threshold is not None) and len(snapshot.chunks):
        query_vector = encode_query(question)
        lap("encode")
    dense_vector = query_vector if use_dense else None
    retrieved = _retrieve(snapshot, dense_vector, query_tokens, None, params, pool)
    confidence = _confidence(snapshot, retrieved, query_vector, query_tokens)
    if params.feedback_docs and retrieved.fused and params.mode == "hybrid":
        retrieved = _with_feedback(
            snapshot, dense_vector, query_tokens, retrieved, params, pool, analyzer
        )
    lap("retrieve")
    ordered = order_by_score(retrieved.fused)
    sentences: dict[int, SentenceMatch] = {}
    if params.sentence_weight > 0 and ordered and query_tokens:
        ordered, sentences = _rerank_by_sentence(
            snapshot, ordered, retrieved.fused, query_tokens, params, analyzer
        )
    lap("rerank")
    article_of = snapshot.chunks.article_ids
    ranked_articles = list(dict.fromkeys(article_of[r] for r in ordered))
    capped = cap_per_article(
        ordered,
        article_of,
        params.per_article_cap,
        (snapshot.chunks.starts, snapshot.chunks.ends),
    )
    page = capped[params.offset : params.offset + params.k]
    lap("fusion")

    cosines: dict[int, float] = {}
    if query_vector is not None and page:
        # Cosine for every shown row, also those only BM25 found: vectors are unit length.
        sims = snapshot.vectors[np.array(page)] @ query_vector
        cosines = dict(zip(page, sims.tolist(), strict=True))
    bm25_by_row = dict(
        zip(retrieved.bm25_rows.tolist(), retrieved.bm25_scores.tolist(), strict=True)
    )
    dense_found = set(retrieved.dense_rows.tolist())

    def relevance(row: int) -> float:
        if row in cosines:
            return max(0.0, min(1.0, cosines[row]))
        if retrieved.bm25_max > 0 and row in bm25_by_row:
            return max(0.0, min(1.0, bm25_by_row[row] / retrieved.bm25_max))
        return 0.0

    # Sentence matches for the first page (confidence) and for the page shown (highlights).
    first_page = capped[: params.k]
    missing = [row for row in dict.fromkeys(first_page + page) if row not in sentences]
    if missing:
        sentences.update(
            zip(missing, _sentence_matches(snapshot, missing, query_tokens, analyzer), strict=True)
        )
    if first_page:
        best_sentence = max(sentences[row].share for row in first_page)
        confidence = (
            1 - CONFIDENCE_SENTENCE_SHARE
        ) * confidence + CONFIDENCE_SENTENCE_SHARE * best_sentence

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
                    retrieved.fused[row],
                    cosines.get(row) if use_dense or row in dense_found else None,
                    bm25_by_row.get(row),
                    relevance(row),
                    sentences[row],
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
    sentence: SentenceMatch,
) -> Hit:
    article = snapshot.articles[snapshot.chunks.article_ids[row]]
    start, end = int(snapshot.chunks.starts[row]), int(snapshot.chunks.ends[row])
    h_start, h_end = sentence.start, sentence.end
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


@dataclass(frozen=True)
class _Retrieved:
    fused: dict[int, float]
    dense_rows: np.ndarray
    bm25_rows: np.ndarray
    bm25_scores: np.ndarray
    bm25_max: float
    all_bm25: np.ndarray | None  # BM25 score of every row (hybrid and bm25 modes)


def _retrieve(
    snapshot: Snapshot,
    query_vector: np.ndarray | None,
    query_tokens: list[str],
    extra_bm25: tuple[np.ndarray, float] | None,
    params: SearchParams,
    pool: int,
) -> _Retrieved:
    dense_rows = np.zeros(0, dtype=np.int64)
    if query_vector is not None:
        ids, _ = snapshot.dense.search(query_vector, pool)
        dense_rows = snapshot.chunks.rows_of(ids)
    bm25_rows = np.zeros(0, dtype=np.int64)
    bm25_scores = np.zeros(0, dtype=np.float32)
    all_bm25: np.ndarray | None = None
    bm25_max = 0.0
    if params.mode in ("hybrid", "bm25") and len(snapshot.chunks):
        all_bm25 = snapshot.lexical.scores(query_tokens)
        bm25_max = snapshot.lexical.max_score(query_tokens)
        if extra_bm25 is not None:
            extra_scores, extra_max = extra_bm25
            all_bm25 = extra_scores if all_bm25 is None else all_bm25 + extra_scores
            bm25_max += extra_max
        bm25_rows, bm25_scores = snapshot.lexical.search(query_tokens, pool, all_bm25)

    if params.mode == "hybrid" and params.fusion == "convex" and query_vector is not None:
        fused = convex_fusion(
            dense_rows,
            bm25_rows,
            snapshot.vectors,
            query_vector,
            all_bm25,
            bm25_max,
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
    return _Retrieved(fused, dense_rows, bm25_rows, bm25_scores, bm25_max, all_bm25)


def _confidence(
    snapshot: Snapshot,
    retrieved: _Retrieved,
    query_vector: np.ndarray | None,
    query_tokens: list[str],
) -> float:
    """How much evidence the best passage gives, 0..1, the same way in every mode.

    Mostly the passage's BM25 score as a share of what matching every question word would
    give, counting words the collection has never seen (an off-topic question's jargon)
    against it; a little cosine breaks ties. Calibrated on SQuAD answerable vs off-topic
    Cranfield questions (docs/benchmarks.md).
    """
    if not retrieved.fused:
        return 0.0
    row = order_by_score(retrieved.fused)[0]
    cosine = float(snapshot.vectors[row] @ query_vector) if query_vector is not None else 0.0
    share = 0.0
    possible = snapshot.lexical.max_score(query_tokens, include_unknown=True)
    # The first pass already scored every row unless the mode skipped BM25.
    scores = (
        retrieved.all_bm25
        if retrieved.all_bm25 is not None
        else snapshot.lexical.scores(query_tokens)
    )
    if possible > 0 and scores is not None:
        share = float(scores[row]) / possible
    return CONFIDENCE_COSINE_SHARE * cosine + (1 - CONFIDENCE_COSINE_SHARE) * share


def _with_feedback(
    snapshot: Snapshot,
    query_vector: np.ndarray | None,
    query_tokens: list[str],
    first: _Retrieved,
    params: SearchParams,
    pool: int,
    analyzer: Analyzer,
) -> _Retrieved:
    """Pseudo-relevance feedback: the best first-pass passages add their vocabulary (BM25) and
    their direction (dense) to the question, which helps when the question's own words differ
    from the articles' (technical collections especially)."""
    top = order_by_score(first.fused)[: params.feedback_docs]
    if query_vector is not None:
        centroid = snapshot.vectors[np.array(top)].mean(axis=0)
        moved = query_vector + params.feedback_weight * centroid
        query_vector = (moved / np.linalg.norm(moved)).astype(np.float32)
    lexical = snapshot.lexical
    weights: dict[str, float] = {}
    for tokens in analyzer.tokens(snapshot.embedding_texts(top)):
        if not tokens:
            continue
        for token in set(tokens):
            weights[token] = weights.get(token, 0.0) + tokens.count(token) / len(
                tokens
            ) * lexical.idf(token)
    asked = set(query_tokens)
    expansion = [t for t in sorted(weights, key=lambda t: -weights[t]) if t not in asked]
    expansion = expansion[: params.feedback_terms]
    extra = None
    scores = lexical.scores(expansion) if expansion else None
    if scores is not None:
        weight = params.feedback_weight
        extra = (scores * weight, lexical.max_score(expansion) * weight)
    return _retrieve(snapshot, query_vector, query_tokens, extra, params, pool)


def _sentence_matches(
    snapshot: Snapshot, rows: list[int], query_tokens: list[str], analyzer: Analyzer
) -> list[SentenceMatch]:
    passages = []
    for row in rows:
        article = snapshot.articles[snapshot.chunks.article_ids[row]]
        passages.append(
            (article.text, int(snapshot.chunks.starts[row]), int(snapshot.chunks.ends[row]))
        )
    return best_sentences(passages, query_tokens, analyzer.tokens, snapshot.lexical.idf)


def _rerank_by_sentence(
    snapshot: Snapshot,
    ordered: list[int],
    fused: dict[int, float],
    query_tokens: list[str],
    params: SearchParams,
    analyzer: Analyzer,
) -> tuple[list[int], dict[int, SentenceMatch]]:
    """Chooses, within each article, which passage to cite first: the one with a sentence
    holding most of the question's rare words (answers sit in sentences, and fusion cannot
    see sentence boundaries). Articles keep the places fusion gave them, so the article
    ranking is unchanged; only the passage shown in each place can change."""
    head = ordered[: params.rerank_depth]
    found = _sentence_matches(snapshot, head, query_tokens, analyzer)
    matches = dict(zip(head, found, strict=True))
    rescored = {row: fused[row] + params.sentence_weight * matches[row].share for row in head}
    article_of = snapshot.chunks.article_ids
    places: dict[str, list[int]] = {}
    for position, row in enumerate(head):
        places.setdefault(article_of[row], []).append(position)
    reordered = list(head)
    for positions in places.values():
        rows = sorted((head[p] for p in positions), key=lambda r: (-rescored[r], r))
        for position, row in zip(positions, rows, strict=True):
            reordered[position] = row
    return reordered + ordered[params.rerank_depth :], matches
