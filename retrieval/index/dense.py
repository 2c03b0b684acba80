"""Inner-product search with FAISS; ids are chunk ids.

Exact (`IndexFlatIP`) up to a size limit, HNSW above it: exact search grows linearly
(~14 ms per question at 100k chunks on one core) while HNSW stays near a millisecond with
recall@10 ~0.95-0.99 against exact (docs/benchmarks.md).

Writes leave the FAISS index itself (the base) alone, since searches of the previous snapshot
may be reading it and copying or re-saving a large one costs seconds: added vectors go to a
small delta searched exactly beside it, removed ids are masked (tombstones). The delta is
merged into a copy of the base once it passes DELTA_LIMIT rows; the base is rebuilt when
tombstones make up a fifth of it. So an add costs its own rows, and saving writes the base
only when it changed (its file name is its `base_id`), plus the small delta and tombstones.
"""

from __future__ import annotations

import io
import logging
import uuid
from pathlib import Path

import numpy as np

from retrieval.third_party import (
    FaissIndex,
    FaissSelector,
    import_faiss,
    load_faiss,
)
from retrieval.threads import free_cores

logger = logging.getLogger(__name__)

DEFAULT_EXACT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
# A filter letting through at least this share of the nodes needs no wider beam; a narrower
# one widens it, at most this many times (see filtered_ef).
FULL_BEAM_SHARE = 0.05
HNSW_FILTERED_WIDEN_MAX = 8.0
MAX_TOMBSTONE_SHARE = 0.2
# Exact search of the delta costs ~0.1 ms per 1,000 rows per question; merging it into a copy
# of the base costs a copy of the base, so it is done rarely.
DELTA_LIMIT = 4096
_ZIP_MAGIC = b"PK\x03\x04"


def _empty_vectors(dimension: int) -> np.ndarray:
    return np.zeros((0, dimension), dtype=np.float32)


class DenseIndex:
    def __init__(
        self,
        index: FaissIndex,
        dimension: int,
        *,
        base_id: str,
        removed: np.ndarray | None = None,
        delta_ids: np.ndarray | None = None,
        delta_vectors: np.ndarray | None = None,
    ) -> None:
        self._index = index
        self.dimension = dimension
        self.base_id = base_id
        self._flat = not isinstance(_inner(index), load_faiss().IndexHNSW)
        none = np.zeros(0, dtype=np.int64)
        # Sorted ids still in the base but no longer live.
        self._removed = removed if removed is not None else none
        self._delta_ids = delta_ids if delta_ids is not None else none
        self._delta_vectors = (
            delta_vectors if delta_vectors is not None else _empty_vectors(dimension)
        )
        self._selector: FaissSelector | None = None

    @classmethod
    def build(
        cls,
        ids: np.ndarray,
        vectors: np.ndarray,
        dimension: int,
        *,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
    ) -> DenseIndex:
        faiss = load_faiss()
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
        return cls(index, dimension, base_id=uuid.uuid4().hex)

    @property
    def kind(self) -> str:
        return "flat" if self._flat else "hnsw"

    @property
    def size(self) -> int:
        return int(self._index.ntotal) - len(self._removed) + len(self._delta_ids)

    @property
    def delta_size(self) -> int:
        return len(self._delta_ids)

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
        `all_*` are the live rows afterwards, used when a rebuild is due."""
        live = len(all_ids)
        removed_ids = removed_ids.astype(np.int64)
        in_delta = np.isin(self._delta_ids, removed_ids)
        delta_ids = np.concatenate([self._delta_ids[~in_delta], added_ids.astype(np.int64)])
        delta_vectors = np.concatenate(
            [self._delta_vectors[~in_delta], added_vectors.astype(np.float32)]
        ).reshape(-1, self.dimension)
        removed = np.union1d(
            self._removed, np.setdiff1d(removed_ids, self._delta_ids, assume_unique=True)
        )
        if (live <= exact_limit) != self._flat or len(removed) > MAX_TOMBSTONE_SHARE * max(live, 1):
            if not self._flat and live > exact_limit:
                logger.info("rebuilding the HNSW graph for %d chunks (tombstones)", live)
            return DenseIndex.build(all_ids, all_vectors, self.dimension, exact_limit=exact_limit)
        if len(delta_ids) <= DELTA_LIMIT:
            return DenseIndex(
                self._index,
                self.dimension,
                base_id=self.base_id,
                removed=removed,
                delta_ids=delta_ids,
                delta_vectors=delta_vectors,
            )
        if self._flat:  # a flat base is rebuilt in about the time a copy takes
            return DenseIndex.build(all_ids, all_vectors, self.dimension, exact_limit=exact_limit)
        index = load_faiss().clone_index(self._index)
        _add(index, delta_ids, delta_vectors)
        return DenseIndex(index, self.dimension, base_id=uuid.uuid4().hex, removed=removed)

    def search(
        self, query: np.ndarray, k: int, allowed: IdFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine scores, best first; only `allowed` ids when given: the
        filter works inside the search, so a narrow one still fills the places it can."""
        k = min(k, self.size if allowed is None else allowed.count)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query_row = query.reshape(1, -1).astype(np.float32)
        found, found_scores = self._search_base(query_row, k, allowed)
        if len(self._delta_ids):
            scores = self._delta_vectors @ query_row[0]
            if allowed is not None:
                scores = np.where(allowed.contains(self._delta_ids), scores, -np.inf)
            top = np.argsort(-scores, kind="stable")[:k]
            top = top[np.isfinite(scores[top])]
            found = np.concatenate([found, self._delta_ids[top]])
            found_scores = np.concatenate([found_scores, scores[top]])
            best = np.argsort(-found_scores, kind="stable")[:k]
            found, found_scores = found[best], found_scores[best]
        return found.astype(np.int64), found_scores.astype(np.float32)

    def _search_base(
        self, query_row: np.ndarray, k: int, allowed: IdFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, int(self._index.ntotal))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        faiss = load_faiss()
        # Tombstones are skipped inside the search (a selector), not by asking for k plus their
        # number and filtering after: that would widen HNSW's beam with every removal.
        # Parameters are made per call: FAISS's id map swaps their selector while searching.
        selector = self._live_selector()
        bitmap: np.ndarray | None = None
        share = 1.0
        if allowed is not None:
            # Allowed ids are live rows' ids, so they already leave the tombstones out. The
            # bitmap stays referenced here while FAISS reads it through a raw pointer.
            bitmap = allowed.bitmap
            selector = faiss.IDSelectorBitmap(len(bitmap) * 8, faiss.swig_ptr(bitmap))
            share = max(allowed.count / max(self.size, 1), 1e-6)
        if self._flat:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        else:
            # The beam must be at least as wide as the results asked for, and wider under a
            # filter: only its share of the nodes the beam visits can be returned.
            ef = max(HNSW_EF_SEARCH, k) if allowed is None else filtered_ef(share, k)
            params = faiss.SearchParametersHNSW(efSearch=ef)
            if selector is not None:
                params.sel = selector
        scores, ids = self._index.search(query_row, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def _live_selector(self) -> FaissSelector | None:
        """A FAISS selector of the base ids not removed (None without tombstones); made once
        per index, then only read by concurrent searches."""
        if not len(self._removed):
            return None
        if self._selector is None:
            faiss = load_faiss()
            removed = faiss.IDSelectorBatch(self._removed)
            selector = faiss.IDSelectorNot(removed)
            selector.referenced = removed  # SWIG does not keep the inner selector alive
            self._selector = selector
        return self._selector

    def save_base(self, path: Path) -> None:
        """The FAISS index alone; it changes only when the delta is merged or it is rebuilt."""
        load_faiss().write_index(self._index, str(path))

    def save_changes(self, path: Path) -> None:
        """Delta rows and tombstones: small, written on every save (plain npz, no pickle)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            removed=self._removed,
            delta_ids=self._delta_ids,
            delta_vectors=self._delta_vectors,
        )
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(
        cls,
        base: Path,
        changes: Path | None,
        dimension: int,
        size: int,
        *,
        base_id: str,
    ) -> DenseIndex:
        faiss = load_faiss()
        with base.open("rb") as handle:
            magic = handle.read(4)
        removed = np.zeros(0, dtype=np.int64)
        if magic == _ZIP_MAGIC:  # saved by an older version: the graph and its tombstones
            with np.load(base, allow_pickle=False) as parts:
                index = faiss.deserialize_index(parts["index"])
                removed = parts["removed"].astype(np.int64)
        else:
            index = faiss.read_index(str(base))
        delta_ids, delta_vectors = None, None
        if changes is not None:
            with np.load(changes, allow_pickle=False) as parts:
                removed = np.union1d(removed, parts["removed"].astype(np.int64))
                delta_ids = parts["delta_ids"].astype(np.int64)
                delta_vectors = parts["delta_vectors"].astype(np.float32)
        if int(index.d) != dimension:
            raise ValueError(f"FAISS index has dimension {index.d}, expected {dimension}")
        loaded = cls(
            index,
            dimension,
            base_id=base_id,
            removed=removed,
            delta_ids=delta_ids,
            delta_vectors=None if delta_vectors is None else delta_vectors.reshape(-1, dimension),
        )
        if loaded.size != size:
            raise ValueError(
                f"FAISS index holds {loaded.size}x{index.d}, expected {size}x{dimension}"
            )
        return loaded


def row_inner_products(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`vectors[rows] @ query` without gathering the rows first (FAISS reads them in
    place: ~3 ms for 10,000 scattered rows of a million, against ~7 ms for numpy's gather)."""
    faiss = load_faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # a view when it already is
    query = np.ascontiguousarray(query, dtype=np.float32)
    ids = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.empty(len(ids), dtype=np.float32)
    faiss.fvec_inner_products_by_idx(
        faiss.swig_ptr(out),
        faiss.swig_ptr(query),
        faiss.swig_ptr(vectors),
        faiss.swig_ptr(ids),
        vectors.shape[1],
        1,
        len(ids),
    )
    return out


class IdFilter:
    """The chunk ids one search may return, as the bitmap FAISS reads (bit i of byte i // 8,
    lowest first, is id i), made once per search however many times it searches."""

    def __init__(self, bitmap: np.ndarray, count: int) -> None:
        self.bitmap = bitmap
        self.count = count

    @classmethod
    def of_ids(cls, ids: np.ndarray) -> IdFilter:
        member = np.zeros(int(ids[-1]) + 1 if len(ids) else 1, dtype=bool)
        member[ids] = True
        return cls(np.packbits(member, bitorder="little"), len(ids))

    @classmethod
    def of_rows(cls, chunk_ids: np.ndarray, mask: np.ndarray, count: int) -> IdFilter:
        """From a mask over rows. Rows are in id order, so when ids have no gaps (nothing
        removed since the ids were given) the mask is the bitmap shifted by the first id,
        which saves listing the rows (~3 ms for a quarter of a million rows)."""
        first = int(chunk_ids[0]) if len(chunk_ids) else 0
        if len(chunk_ids) and int(chunk_ids[-1]) - first + 1 == len(chunk_ids):
            member = np.zeros(first + len(chunk_ids), dtype=bool)
            member[first:] = mask
            return cls(np.packbits(member, bitorder="little"), count)
        return cls.of_ids(chunk_ids[mask])

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """A mask of which of `ids` are allowed."""
        inside = ids < len(self.bitmap) * 8
        found = np.zeros(len(ids), dtype=bool)
        kept = ids[inside]
        found[inside] = (self.bitmap[kept >> 3] >> (kept & 7).astype(np.uint8)) & 1 == 1
        return found


def filtered_ef(share: float, k: int) -> int:
    """The HNSW beam for a search that may return only `share` of the nodes. FAISS visits
    every node its beam reaches and keeps the allowed ones, so from about a twentieth of
    the nodes up the usual beam fills k places with the same recall as an unfiltered
    search (measured at a million chunks, bench/query_latency.py); below, the beam widens
    in proportion. Filters narrower still are scanned exactly (search/candidates.py)."""
    widen = min(HNSW_FILTERED_WIDEN_MAX, max(1.0, FULL_BEAM_SHARE / max(share, 1e-9)))
    return max(HNSW_EF_SEARCH, k, int(HNSW_EF_SEARCH * widen))


def _inner(index: FaissIndex) -> FaissIndex:
    faiss = import_faiss()
    return faiss.downcast_index(index.index) if hasattr(index, "index") else index


def _add(index: FaissIndex, ids: np.ndarray, vectors: np.ndarray) -> None:
    faiss = load_faiss(free_cores())
    try:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    finally:
        faiss.omp_set_num_threads(1)
