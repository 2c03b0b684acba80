"""BM25 top-k: the fast path gives exactly what a full partition of every row gives."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.index.bm25 import LexicalIndex

INDEX = LexicalIndex.build([["alpha", "beta"], ["beta"], ["gamma"]])


def _full_partition(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: what search did before the fast path."""
    k = min(k, scores.shape[0])
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[scores[top] > 0]
    return top.astype(np.int64), scores[top].astype(np.float32)


def _score_arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    arrays = []
    for size in (5, 150, 3_000, 60_000):
        distinct = rng.random(size).astype(np.float32)
        sparse = np.where(rng.random(size) < 0.01, distinct, 0).astype(np.float32)
        # Few distinct values: ties everywhere, also at the k-th place.
        tied = rng.integers(0, 6, size).astype(np.float32)
        # Many rows tied at the top, then distinct scores.
        plateau = np.concatenate([np.ones(size // 3), distinct[size // 3 :] * 0.5]).astype(
            np.float32
        )
        # Only rows late in the collection match (the sample sees zeros).
        late = np.concatenate([np.zeros(size - size // 50), distinct[: size // 50]])
        arrays += [distinct, sparse, tied, plateau, late.astype(np.float32)]
    return arrays


@pytest.mark.parametrize("k", [1, 3, 10, 100, 1_000])
def test_search_equals_a_full_partition(k: int) -> None:
    for scores in _score_arrays():
        expected_rows, expected_scores = _full_partition(scores, k)
        rows, found = INDEX.search([], k, scores)
        assert np.array_equal(rows, expected_rows) and np.array_equal(found, expected_scores)
        # Unranked: the same rows with the same scores, in any order.
        rows, found = INDEX.search([], k, scores, ranked=False)
        assert sorted(zip(rows.tolist(), found.tolist(), strict=True)) == sorted(
            zip(expected_rows.tolist(), expected_scores.tolist(), strict=True)
        )
        assert rows.dtype == np.int64 and found.dtype == np.float32
