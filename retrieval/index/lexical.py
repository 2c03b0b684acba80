"""BM25 over chunk text (title included) with bm25s, English stemming and stopwords."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Lucene-style BM25 parameters; b < 0.75 because chunks are already of similar length.
K1 = 1.2
B = 0.75


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG at import, which floods any app that logs at INFO.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class Analyzer:
    """Lowercase, drop English stopwords, Snowball-stem: the same for chunks and questions."""

    def __init__(self) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        bm25s = _bm25s()

        if not texts:
            return []
        result = bm25s.tokenize(
            list(texts),
            stopwords="en",
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )
        return [list(t) for t in result]


class LexicalIndex:
    """A bm25s index over rows 0..n-1 plus the document frequencies used for highlighting."""

    def __init__(self, model: Any, doc_freq: dict[str, int], size: int) -> None:
        self._model = model
        self.doc_freq = doc_freq
        self.size = size

    @classmethod
    def build(cls, tokens: Sequence[Sequence[str]]) -> LexicalIndex:
        bm25s = _bm25s()

        if not tokens:
            return cls(None, {}, 0)
        model = bm25s.BM25(k1=K1, b=B)
        # An empty token list still needs a row so row numbers stay aligned with chunks.
        model.index([list(t) or [""] for t in tokens], show_progress=False)
        return cls(model, _doc_freq(model), len(tokens))

    def idf(self, token: str) -> float:
        df = self.doc_freq.get(token, 0)
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def max_score(self, query_tokens: Sequence[str], *, include_unknown: bool = False) -> float:
        """The score a document would get by matching every query term very often; used to
        express a BM25 score as a 0..1 share. Unknown terms count at the highest IDF when
        `include_unknown`, so a question full of words no article uses scores low."""
        return sum(
            self.idf(t) * (K1 + 1.0)
            for t in set(query_tokens)
            if include_unknown or t in self.doc_freq
        )

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray | None:
        """BM25 score of every row, or None when no query term occurs in the corpus."""
        known = [t for t in query_tokens if t in self.doc_freq]
        if self._model is None or not known:
            return None
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def search(
        self, query_tokens: Sequence[str], k: int, scores: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores, best first; only rows with a positive score."""
        if scores is None:
            scores = self.scores(query_tokens)
        if scores is None or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top.astype(np.int64), scores[top].astype(np.float32)

    def save(self, folder: Path) -> None:
        if self._model is None:
            folder.mkdir(parents=True, exist_ok=True)
            return
        self._model.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> LexicalIndex:
        bm25s = _bm25s()

        if size == 0:
            return cls(None, {}, 0)
        model = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False)
        if int(model.scores["num_docs"]) != size:
            raise ValueError(f"BM25 index has {model.scores['num_docs']} rows, expected {size}")
        return cls(model, _doc_freq(model), size)


def _doc_freq(model: Any) -> dict[str, int]:
    """Document frequency per token, read off the CSC score matrix (one column per token)."""
    indptr = np.asarray(model.scores["indptr"])
    counts = np.diff(indptr)
    return {tok: int(counts[col]) for tok, col in model.vocab_dict.items() if tok}
