"""Exact inner-product search with FAISS; ids are chunk ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _faiss() -> Any:
    import faiss

    # One question at a time: a second thread only adds contention on a 2-core box.
    faiss.omp_set_num_threads(1)
    return faiss


class DenseIndex:
    def __init__(self, index: Any, dimension: int) -> None:
        self._index = index
        self.dimension = dimension

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dimension: int) -> DenseIndex:
        faiss = _faiss()
        # Inner product equals cosine because every stored vector and query is unit length.
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        if len(ids):
            index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64)
            )
        return cls(index, dimension)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores, best first."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, dimension: int, size: int) -> DenseIndex:
        index = _faiss().read_index(str(path))
        if int(index.d) != dimension or int(index.ntotal) != size:
            raise ValueError(
                f"FAISS index holds {index.ntotal}x{index.d}, expected {size}x{dimension}"
            )
        return cls(index, dimension)
