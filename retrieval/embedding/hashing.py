"""A dependency-free lexical encoder: deterministic and instant, for tests and demos.

Not a semantic model: texts are close when they share (stemmed) words. Select it with
NEWSDESK_MODEL=hashing (or hashing:DIM).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from retrieval.embedding.base import ProgressCallback, Vectors

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    def __init__(self, dimension: int = 256, max_tokens: int = 256) -> None:
        self._dimension = dimension
        self._max_tokens = max_tokens
        self.calls = 0  # number of encode() batches, so tests can count re-encoding
        self.texts_encoded = 0

    @property
    def name(self) -> str:
        return f"hashing:{self._dimension}"

    @property
    def backend(self) -> str:
        return "hashing"

    @property
    def recipe(self) -> str:
        return "1"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) for t in texts]

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dimension, dtype=np.float32)
        words = [w.casefold() for w in _WORD.findall(text)][: self._max_tokens]
        for word in words:
            if len(word) < 3:
                continue  # mostly stopwords; they only blur the similarity
            # Crude stemming keeps "talks"/"talk" close, which is all the tests need.
            stem = word[:5]
            digest = hashlib.blake2b(stem.encode(), digest_size=4).digest()
            vec[int.from_bytes(digest, "little") % self._dimension] += 1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0  # a unit vector even for empty text keeps the cosine defined
            return vec
        return vec / norm

    def encode(self, texts: Sequence[str], *, progress: ProgressCallback | None = None) -> Vectors:
        self.calls += 1
        self.texts_encoded += len(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
            if progress is not None:
                progress(1)
        return out

    def encode_query(self, text: str) -> Vectors:
        return self._vector(text)
