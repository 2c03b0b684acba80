"""Hybrid search over one snapshot: dense + BM25, fused, capped per article, highlighted."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from retrieval.index.snapshot import Snapshot
from retrieval.search.candidates import Retrieved, retrieve
from retrieval.search.copies import collapse_copies, with_other_copies
from retrieval.search.expansion import article_order, expanded_retrieval, reorder_articles
from retrieval.search.fusion import cap_per_article, order_by_score
from retrieval.search.highlight import SentenceMatch, best_sentences
from retrieval.search.params import SearchParams
from retrieval.search.results import Hit, SearchResult
from retrieval.text.analyzer import Analyzer

__all__ = ["SearchParams", "search_snapshot"]

NEAREST_TITLES = 3
# Confidence = a weighted sum of three kinds of evidence for the best answer: the cosine of
# the best passage, its BM25 share, and the best single sentence's share of the question's
# IDF mass (a question whose rare words all sit in one sentence is very likely answered
# there). Weights from a coarse grid on SQuAD answerable vs off-topic Cranfield questions:
# a broad plateau around these values loses the fewest answers at 90 % abstention
# (docs/benchmarks.md).
CONFIDENCE_COSINE = 0.25
CONFIDENCE_BM25 = 0.35
CONFIDENCE_SENTENCE = 0.4
# The sentence evidence looks at this many first answers whatever the page size, so a
# question gets the same confidence (and the same abstention) with any -k.
CONFIDENCE_PASSAGES = 5


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
    retrieved = retrieve(snapshot, dense_vector, query_tokens, None, params, pool)
    cosine, bm25_share = _evidence(snapshot, retrieved, query_vector, query_tokens)
    feedback: tuple[list[str], list[int]] | None = None
    if params.feedback_docs and retrieved.fused and params.mode == "hybrid":
        expanded = expanded_retrieval(
            snapshot, dense_vector, query_tokens, retrieved, params, pool, analyzer
        )
        new_order, scores = article_order(snapshot, retrieved, expanded, dense_vector, params)
        feedback = (new_order, order_by_score(expanded.fused))
        # Hits report the question's own score, also for passages only feedback found.
        retrieved = dataclasses.replace(retrieved, fused=scores)
    lap("retrieve")
    ordered = order_by_score(retrieved.fused)
    sentences: dict[int, SentenceMatch] = {}
    rerank = params.sentence_weight > 0 or params.sentence_cosine_weight > 0
    if rerank and ordered and query_tokens:
        ordered, sentences = _rerank_by_sentence(
            snapshot, ordered, retrieved.fused, query_tokens, params, analyzer, dense_vector
        )
    if feedback is not None:
        ordered = reorder_articles(ordered, snapshot.chunks.article_ids, *feedback)
    lap("rerank")
    article_of = snapshot.chunks.article_ids
    ranked_articles = list(dict.fromkeys(article_of[r] for r in ordered))
    # Wire copies: one copy of a story is quoted, the others are named beside it (copies.py).
    ordered, also_in = collapse_copies(
        ordered, article_of, snapshot.copies, retrieved.fused, snapshot.articles
    )
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
    bm25_by_row: dict[int, float] = dict(
        zip(retrieved.bm25_rows.tolist(), retrieved.bm25_scores.tolist(), strict=True)
    )
    dense_found = set(retrieved.dense_rows.tolist())

    def relevance(row: int) -> float:
        if row in cosines:
            return max(0.0, min(1.0, cosines[row]))
        if retrieved.bm25_max > 0 and row in bm25_by_row:
            return max(0.0, min(1.0, bm25_by_row[row] / retrieved.bm25_max))
        return 0.0

    # Sentence matches for the first answers (confidence) and the page shown (highlights).
    first_page = capped[:CONFIDENCE_PASSAGES]
    missing = [row for row in dict.fromkeys(first_page + page) if row not in sentences]
    if missing:
        sentences.update(
            zip(missing, _sentence_matches(snapshot, missing, query_tokens, analyzer), strict=True)
        )
    best_sentence = max((sentences[row].share for row in first_page), default=0.0)
    confidence = (
        CONFIDENCE_COSINE * cosine
        + CONFIDENCE_BM25 * bm25_share
        + CONFIDENCE_SENTENCE * best_sentence
    )

    abstained = not capped or (
        params.abstain_threshold is not None and confidence < params.abstain_threshold
    )

    hits: list[Hit] = []
    nearest: list[str] = []
    if abstained:
        nearest = [snapshot.articles[a].title for a in ranked_articles[:NEAREST_TITLES]]
    else:
        _vary_highlights(snapshot, page, sentences, query_tokens, analyzer)
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
        hits=with_other_copies(hits, also_in),
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
        updated=article.updated,
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


def _evidence(
    snapshot: Snapshot,
    retrieved: Retrieved,
    query_vector: np.ndarray | None,
    query_tokens: list[str],
) -> tuple[float, float]:
    """Cosine and BM25 share of the best first-pass passage, computed the same way in every
    mode. The share is its BM25 score over what matching every question word would give,
    counting words the collection has never seen (an off-topic question's jargon) against
    it."""
    if not retrieved.fused:
        return 0.0, 0.0
    row = order_by_score(retrieved.fused)[0]
    cosine = float(snapshot.vectors[row] @ query_vector) if query_vector is not None else 0.0
    possible = snapshot.lexical.max_score(query_tokens, include_unknown=True)
    # The first pass already scored every row unless the mode skipped BM25.
    scores = (
        retrieved.all_bm25
        if retrieved.all_bm25 is not None
        else snapshot.lexical.scores(query_tokens)
    )
    share = float(scores[row]) / possible if possible > 0 and scores is not None else 0.0
    return cosine, share


def _sentence_matches(
    snapshot: Snapshot, rows: list[int], query_tokens: list[str], analyzer: Analyzer
) -> list[SentenceMatch]:
    passages = snapshot.sentences.get(rows, snapshot.passage, analyzer.tokens)
    return best_sentences(passages, query_tokens, snapshot.lexical.idf)


def _vary_highlights(
    snapshot: Snapshot,
    page: list[int],
    sentences: dict[int, SentenceMatch],
    query_tokens: list[str],
    analyzer: Analyzer,
) -> None:
    """Overlapping passages of one article often share their best sentence; a later excerpt
    then highlights its next best one (if it shares a word with the question) instead of
    showing the reader the same sentence twice."""
    highlighted: dict[str, set[tuple[int, int]]] = {}
    for row in page:
        used = highlighted.setdefault(snapshot.chunks.article_ids[row], set())
        match = sentences[row]
        if (match.start, match.end) in used:
            passage = snapshot.sentences.get([row], snapshot.passage, analyzer.tokens)
            [match] = best_sentences(passage, query_tokens, snapshot.lexical.idf, avoid=[used])
            sentences[row] = match
        used.add((match.start, match.end))


def _rerank_by_sentence(
    snapshot: Snapshot,
    ordered: list[int],
    fused: dict[int, float],
    query_tokens: list[str],
    params: SearchParams,
    analyzer: Analyzer,
    query_vector: np.ndarray | None,
) -> tuple[list[int], dict[int, SentenceMatch]]:
    """Chooses, within each article, which passage to cite first: the one with a sentence
    holding most of the question's rare words, and the sentence closest to it in meaning
    (answers sit in sentences, and fusion cannot see sentence boundaries; the cosine also
    finds answers that paraphrase the question). Articles keep the places fusion gave them,
    so the article ranking is unchanged; only the passage shown in each place can change."""
    head = ordered[: params.rerank_depth]
    article_of = snapshot.chunks.article_ids
    places: dict[str, list[int]] = {}
    for position, row in enumerate(head):
        places.setdefault(article_of[row], []).append(position)
    # Only articles with several passages in the head have a choice to make; the others'
    # sentences are matched later if they are shown (most of the rerank's cost is this).
    contested = [head[p] for positions in places.values() if len(positions) > 1 for p in positions]
    found = _sentence_matches(snapshot, contested, query_tokens, analyzer)
    matches = dict(zip(contested, found, strict=True))
    rescored = {
        row: fused[row] + params.sentence_weight * match.share for row, match in matches.items()
    }
    has_sentences = snapshot.sentence_vectors is not None
    if params.sentence_cosine_weight > 0 and has_sentences and query_vector is not None:
        cosines = snapshot.closest_sentence_cosines(contested, query_vector)
        for row, cosine in zip(contested, cosines, strict=True):
            rescored[row] += params.sentence_cosine_weight * cosine
    reordered = list(head)
    for positions in places.values():
        if len(positions) < 2:
            continue
        rows = sorted((head[p] for p in positions), key=lambda r: (-rescored[r], r))
        for position, row in zip(positions, rows, strict=True):
            reordered[position] = row
    return reordered + ordered[params.rerank_depth :], matches
