"""Pseudo-relevance feedback that reorders articles, never the passages quoted from them.

The best first-pass passage lends its vocabulary (BM25) and its direction (dense) to the
question. That finds articles on the question's topic whose wording differs from the
question's (a technical collection with many relevant articles gains most), but expansion
words describe the topic, not the answer: letting them choose passages, or how many
passages an article gets, costs answers (measured in docs/benchmarks.md). So feedback
only moves articles, part of the way, and keeps the first pass's page layout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from retrieval.index.snapshot import Snapshot
from retrieval.search.candidates import ExtraTerms, Retrieved, rescore, retrieve
from retrieval.search.fusion import order_by_score
from retrieval.search.params import SearchParams
from retrieval.search.recency import RowFilter
from retrieval.text.analyzer import Analyzer


def expanded_retrieval(
    snapshot: Snapshot,
    query_vector: np.ndarray | None,
    query_tokens: list[str],
    first: Retrieved,
    params: SearchParams,
    pool: int,
    analyzer: Analyzer,
    allowed: RowFilter | None = None,
    context: ExtraTerms | None = None,
) -> Retrieved:
    """A second pass with the question moved toward the best first-pass passages (Rocchio on
    the vector, RM-style expansion terms weighted by frequency x IDF for BM25), under the
    same row filter as the first. `context`: a follow-up's earlier words, kept in it too."""
    top = order_by_score(first.fused)[: params.feedback_docs]
    if query_vector is not None:
        centroid = snapshot.vectors[np.array(top)].mean(axis=0)
        moved = query_vector + params.feedback_weight * centroid
        query_vector = (moved / np.linalg.norm(moved)).astype(np.float32)
    lexical = snapshot.lexical
    weights: dict[str, float] = {}
    for tokens in analyzer.tokens(snapshot.embedding_texts(top)):
        for token, count in Counter(tokens).items():
            weights[token] = weights.get(token, 0.0) + count / len(tokens) * lexical.idf(token)
    asked = set(query_tokens)
    expansion = [t for t in sorted(weights, key=lambda t: (-weights[t], t)) if t not in asked]
    expansion = expansion[: params.feedback_terms]
    extra = None
    scores = lexical.scores(expansion) if expansion else None
    if scores is not None:
        extra = ExtraTerms(
            scores * params.feedback_weight,
            lexical.max_score(expansion) * params.feedback_weight,
            first.bm25_rows,
        )
    if context is not None:
        extra = (
            context
            if extra is None
            else ExtraTerms(
                extra.scores + context.scores,
                extra.max_score + context.max_score,
                np.union1d(extra.first_rows, context.first_rows),
            )
        )
    return retrieve(snapshot, query_vector, query_tokens, extra, params, pool, allowed)


def article_scores(
    snapshot: Snapshot,
    first: Retrieved,
    expanded: Retrieved,
    query_vector: np.ndarray | None,
    params: SearchParams,
) -> tuple[dict[str, float], dict[int, float]]:
    """Each article's best passage's score moved `feedback_blend` of the way from the
    question's score to the expanded question's (the order articles take); also the
    question's own score of every candidate row (what a hit reports)."""
    rows = sorted(set(first.fused) | set(expanded.fused))
    original = rescore(snapshot, first, rows, query_vector, params)
    floor = min(expanded.fused.values(), default=0.0)
    article_of = snapshot.chunks.article_ids
    best_original: dict[str, float] = {}
    best_expanded: dict[str, float] = {}
    for row in rows:
        article = article_of[row]
        best_original[article] = max(best_original.get(article, -np.inf), original[row])
        best_expanded[article] = max(
            best_expanded.get(article, -np.inf), expanded.fused.get(row, floor)
        )
    blend = params.feedback_blend
    score = {
        a: best_original[a] + blend * (best_expanded[a] - best_original[a]) for a in best_original
    }
    return score, original


def reorder_articles(
    ordered: Sequence[int],
    article_of: Sequence[str],
    new_order: Sequence[str],
    rows_by_score: Sequence[int],
) -> list[int]:
    """`ordered` with its articles replaced place by place: the passages of the first pass's
    i-th article go to the new i-th article, which fills them with its own passages in
    first-pass order (an article only feedback found: in `rows_by_score` order). The layout
    (how many passages each place gets, which came from the question's own match) stays."""
    first_articles = list(dict.fromkeys(article_of[r] for r in ordered))
    rank = {a: i for i, a in enumerate(first_articles)}
    ordered_new = set(new_order)
    placed = list(new_order) + [a for a in first_articles if a not in ordered_new]
    queues: dict[str, list[int]] = {}
    for row in ordered:
        queues.setdefault(article_of[row], []).append(row)
    for row in rows_by_score:
        if article_of[row] not in rank:
            queues.setdefault(article_of[row], []).append(row)
    taken = dict.fromkeys(queues, 0)
    result: list[int] = []
    for row in ordered:
        article = placed[rank[article_of[row]]]
        queue = queues.get(article, [])
        if taken.get(article, 0) < len(queue):
            result.append(queue[taken[article]])
            taken[article] += 1
    return result
