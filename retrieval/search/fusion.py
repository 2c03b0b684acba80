"""Combining the dense and BM25 rankings into one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reciprocal_rank_fusion(
    rankings: Sequence[tuple[np.ndarray, float]], k: int
) -> dict[int, float]:
    """Weighted RRF: each list adds weight / (k + rank) for the rows it ranks (rank from 1).

    Ranks, not raw scores, are combined because cosine and BM25 live on unrelated scales.
    """
    fused: dict[int, float] = {}
    for rows, weight in rankings:
        if weight <= 0:
            continue
        for rank, row in enumerate(rows.tolist(), start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return fused


def order_by_score(scores: dict[int, float]) -> list[int]:
    """Rows best first; ties broken by row so results are deterministic."""
    return sorted(scores, key=lambda row: (-scores[row], row))


def cap_per_article(
    rows: Sequence[int],
    article_of: Sequence[str],
    cap: int,
    spans: tuple[np.ndarray, np.ndarray] | None = None,
    max_overlap: float = 0.5,
) -> list[int]:
    """Keep at most `cap` rows per article (0 = no cap), preserving order; with `spans`
    (starts, ends), also drop a passage that mostly repeats one already kept from the same
    article, so overlapping chunks do not fill the answer with the same sentences."""
    seen: dict[str, list[int]] = {}
    kept: list[int] = []
    for row in rows:
        article = article_of[row]
        taken = seen.setdefault(article, [])
        if cap > 0 and len(taken) >= cap:
            continue
        if spans is not None and any(
            _overlap_share(spans, row, other) > max_overlap for other in taken
        ):
            continue
        taken.append(row)
        kept.append(row)
    return kept


def _overlap_share(spans: tuple[np.ndarray, np.ndarray], a: int, b: int) -> float:
    starts, ends = spans
    shared = min(ends[a], ends[b]) - max(starts[a], starts[b])
    shorter = min(ends[a] - starts[a], ends[b] - starts[b])
    return float(shared) / float(shorter) if shorter > 0 and shared > 0 else 0.0


def convex_fusion(
    dense_rows: np.ndarray,
    bm25_rows: np.ndarray,
    vectors: np.ndarray,
    query_vector: np.ndarray,
    bm25_scores: np.ndarray | None,
    bm25_max: float,
    dense_weight: float,
    bm25_weight: float,
) -> dict[int, float]:
    """A weighted sum of cosine and BM25 share (score over the query's highest possible score),
    computed exactly for every candidate either retriever found.

    Unlike RRF this keeps how much better one passage is than the next, which matters when
    the question shares most of its words with one passage.
    """
    rows = np.union1d(dense_rows, bm25_rows)
    if rows.size == 0:
        return {}
    total = dense_weight + bm25_weight or 1.0
    cosine = vectors[rows] @ query_vector
    share = (
        bm25_scores[rows] / bm25_max
        if bm25_scores is not None and bm25_max > 0
        else np.zeros(rows.size, dtype=np.float32)
    )
    fused = (dense_weight * cosine + bm25_weight * share) / total
    return dict(zip(rows.tolist(), fused.tolist(), strict=True))
