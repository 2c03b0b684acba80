"""Inner-product search with FAISS; ids are chunk ids.

Exact (`IndexFlatIP`) up to a size limit, HNSW above it: exact search grows linearly
(~14 ms per question at 100k chunks on one core) while HNSW stays near a millisecond with
recall@10 ~0.95-0.99 against exact (docs/benchmarks.md). HNSW cannot delete, so removed ids
are masked (tombstones) until they make up a fifth of the graph, which is then rebuilt; adding
clones the graph first, because the previous snapshot's searches may still be reading it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.threads import free_cores

logger = logging.getLogger(__name__)

DEFAULT_EXACT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
MAX_TOMBSTONE_SHARE = 0.2
_ZIP_MAGIC = b"PK\x03\x04"


def _faiss(threads: int = 1) -> Any:
    import faiss

    # Per calling thread: one question at a time is fastest on one core (a second thread only
    # adds contention on a 2-core box); builds use the free cores.
    faiss.omp_set_num_threads(threads)
    return faiss


class DenseIndex:
    def __init__(self, index: Any, dimension: int, removed: np.ndarray | None = None) -> None:
        self._index = index
        self.dimension = dimension
        self._flat = not isinstance(_inner(index), _faiss().IndexHNSW)
        # Sorted ids still in an HNSW graph but no longer live.
        self._removed = removed if removed is not None else np.zeros(0, dtype=np.int64)

    @classmethod
    def build(
        cls,
        ids: np.ndarray,
        vectors: np.ndarray,
        dimension: int,
        *,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
    ) -> DenseIndex:
        faiss = _faiss()
        # Inner product equals cosine because every stored vector and query is unit length.
        if len(ids) <= exact_limit:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        else:
            graph = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            graph.hnsw.efSearch = HNSW_EF_SEARCH
            index = faiss.IndexIDMap2(graph)
        if len(ids):
            _add(index, ids, vectors)
        return cls(index, dimension)

    @property
    def kind(self) -> str:
        return "flat" if self._flat else "hnsw"

    @property
    def size(self) -> int:
        return int(self._index.ntotal) - len(self._removed)

    def updated(
        self,
        *,
        removed_ids: np.ndarray,
        added_ids: np.ndarray,
        added_vectors: np.ndarray,
        all_ids: np.ndarray,
        all_vectors: np.ndarray,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
    ) -> DenseIndex:
        """The index after a write, leaving this one untouched (searches may be reading it).
        `all_*` are the live rows afterwards, used when a rebuild is cheaper or due."""
        live = len(all_ids)
        wants_flat = live <= exact_limit
        removed = np.union1d(self._removed, removed_ids.astype(np.int64))
        tombstones = len(removed) > MAX_TOMBSTONE_SHARE * max(live, 1)
        if self._flat or wants_flat or tombstones:
            if not self._flat and not wants_flat:
                logger.info("rebuilding the HNSW graph for %d chunks (tombstones)", live)
            return DenseIndex.build(all_ids, all_vectors, self.dimension, exact_limit=exact_limit)
        index = _faiss().clone_index(self._index)
        if len(added_ids):
            _add(index, added_ids, added_vectors)
        return DenseIndex(index, self.dimension, removed)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores, best first."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        faiss = _faiss()
        wanted = min(k + len(self._removed), int(self._index.ntotal))
        params = None
        if not self._flat:
            # The beam must be at least as wide as the results asked for; passed per call so
            # concurrent searches don't share a setting.
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, wanted))
        query_row = query.reshape(1, -1).astype(np.float32)
        scores, ids = self._index.search(query_row, wanted, params=params)
        keep = ids[0] >= 0
        if len(self._removed):
            keep &= ~np.isin(ids[0], self._removed)
        found, found_scores = ids[0][keep][:k], scores[0][keep][:k]
        return found.astype(np.int64), found_scores.astype(np.float32)

    def save(self, path: Path) -> None:
        faiss = _faiss()
        if not len(self._removed):
            faiss.write_index(self._index, str(path))
            return
        # With tombstones: the graph and the masked ids in one uncompressed, pickle-free file.
        buffer = io.BytesIO()
        np.savez(buffer, index=faiss.serialize_index(self._index), removed=self._removed)
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path, dimension: int, size: int) -> DenseIndex:
        faiss = _faiss()
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic == _ZIP_MAGIC:
            with np.load(path, allow_pickle=False) as parts:
                index = faiss.deserialize_index(parts["index"])
                removed = parts["removed"].astype(np.int64)
        else:
            index = faiss.read_index(str(path))
            removed = np.zeros(0, dtype=np.int64)
        loaded = cls(index, dimension, removed)
        if int(index.d) != dimension or loaded.size != size:
            raise ValueError(
                f"FAISS index holds {loaded.size}x{index.d}, expected {size}x{dimension}"
            )
        return loaded


def _inner(index: Any) -> Any:
    import faiss

    return faiss.downcast_index(index.index) if hasattr(index, "index") else index


def _add(index: Any, ids: np.ndarray, vectors: np.ndarray) -> None:
    faiss = _faiss(free_cores())
    try:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    finally:
        faiss.omp_set_num_threads(1)
