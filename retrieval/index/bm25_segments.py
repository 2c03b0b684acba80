"""The pieces a BM25 index is made of: token ids, document frequencies, delta segments of
term-frequency postings, and the bm25s main segment, each with its on-disk form (no pickle).
retrieval/index/lexical.py puts them together and decides when to compact."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, overload

import numpy as np

from retrieval.third_party import Bm25sModel, load_bm25s

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Lucene-style BM25 parameters; b < 0.75 because chunks are already of similar length.
K1 = 1.2
B = 0.75

# Compaction works through this many postings at a time: small temporaries are reused by the
# allocator, large ones are fresh memory to fault in (which costs more than the arithmetic).
BLOCK = 1 << 18

FORMAT = 1
MAIN_PREFIX = "bm25-"
SEGMENT_PREFIX = "bm25seg-"
STATE_PREFIX = "bm25state-"
MAIN_META = "lexical.json"
LENGTHS = "doc_lengths.npy"
STATE_FILE = "state.json"
DEAD_FILE = "dead.npy"


def lucene_idf(df: int, n: int) -> float:
    """bm25s's Lucene IDF, computed the same way (Python floats) so compaction matches it."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def idf32(df: np.ndarray, n: int) -> np.ndarray:
    """IDF per token as bm25s stores it (float32), one math.log per distinct df."""
    values, inverse = np.unique(df, return_inverse=True)
    table = np.array([lucene_idf(int(v), n) if v else 0.0 for v in values], dtype=np.float32)
    return table[inverse.reshape(-1)]


def length_norm(lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """K1 x (1 - B + B x length / avgdl) per row, operation for operation as bm25s does it."""
    return K1 * ((1 - B) + B * lengths.astype(np.float64) / avgdl)


def new_name(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:16]


class Unreadable(Exception):
    """The main segment's term frequencies cannot be read back from its scores."""


class Vocabulary:
    """Token ids: the main segment's bm25s columns, then tokens first seen in delta rows.

    Shared by every version of the index built on one main segment and only ever appended
    to (writes are serialized by the engine), so an older version, whose document-frequency
    array is shorter, simply treats the newer ids as unknown."""

    def __init__(self, main: dict[str, int]) -> None:
        self.main = main
        self.first_extra = max(main.values(), default=-1) + 1
        self.extra: dict[str, int] = {}
        self._extra_tokens: list[str] = []
        self._main_tokens: list[str] | None = None

    def __len__(self) -> int:
        return self.first_extra + len(self._extra_tokens)

    def get(self, token: str) -> int | None:
        tid = self.main.get(token)
        return self.extra.get(token) if tid is None else tid

    def add(self, token: str) -> int:
        tid = self.get(token)
        if tid is None:
            tid = self.first_extra + len(self._extra_tokens)
            self._extra_tokens.append(token)  # before the dict, which readers look in
            self.extra[token] = tid
        return tid

    def token(self, tid: int) -> str:
        if tid >= self.first_extra:
            return self._extra_tokens[tid - self.first_extra]
        if self._main_tokens is None:
            names = [""] * self.first_extra
            for name, i in self.main.items():
                names[i] = name
            self._main_tokens = names
        return self._main_tokens[tid]

    def items(self) -> list[tuple[str, int]]:
        return list(self.main.items()) + list(self.extra.items())


class DocFreq(Mapping[str, int]):
    """Document frequency over the live rows, per token (tokens no live row has are absent)."""

    def __init__(self, vocab: Vocabulary, df: np.ndarray) -> None:
        self._vocab = vocab
        self._df = df

    def _lookup(self, token: object) -> int:
        if not isinstance(token, str) or not token:
            return 0  # "" stands for an empty chunk in bm25s; never a word
        tid = self._vocab.get(token)
        if tid is None or tid >= len(self._df):
            return 0
        return int(self._df[tid])

    def __getitem__(self, token: str) -> int:
        df = self._lookup(token)
        if df <= 0:
            raise KeyError(token)
        return df

    def __contains__(self, token: object) -> bool:
        return self._lookup(token) > 0

    @overload
    def get(self, token: str, /) -> int | None: ...

    @overload
    def get(self, token: str, default: int, /) -> int: ...

    @overload
    def get(self, token: str, default: _T, /) -> int | _T: ...

    def get(self, token: str, default: object = None) -> object:
        df = self._lookup(token)
        return df if df > 0 else default

    def __iter__(self) -> Iterator[str]:
        for token, tid in self._vocab.items():
            if token and tid < len(self._df) and self._df[tid] > 0:
                yield token

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Segment:
    """Term-frequency postings of consecutive delta rows, sorted by token id (then row)."""

    name: str
    first: int  # position of its first row
    lengths: np.ndarray  # int64 token count of each row (at least 1, as bm25s counts)
    tok: np.ndarray  # int32 token id per posting, ascending
    row: np.ndarray  # int32 position per posting
    tf: np.ndarray  # float32 term frequency per posting

    @property
    def nnz(self) -> int:
        return len(self.tok)

    @classmethod
    def from_rows(cls, first: int, rows: Sequence[Sequence[int]]) -> Segment:
        toks: list[int] = []
        positions: list[int] = []
        tfs: list[int] = []
        for i, ids in enumerate(rows):
            counts = Counter(ids)
            toks.extend(counts)
            tfs.extend(counts.values())
            positions.extend([first + i] * len(counts))
        tok = np.array(toks, dtype=np.int32)
        order = np.argsort(tok, kind="stable")
        return cls(
            new_name(SEGMENT_PREFIX),
            first,
            np.array([len(ids) for ids in rows], dtype=np.int64),
            tok[order],
            np.array(positions, dtype=np.int32)[order],
            np.array(tfs, dtype=np.float32)[order],
        )

    def merged(self, newer: Segment) -> Segment:
        tok = np.concatenate([self.tok, newer.tok])
        # Stable: within a token this segment's (lower) rows stay ahead of the newer's.
        order = np.argsort(tok, kind="stable")
        return Segment(
            new_name(SEGMENT_PREFIX),
            self.first,
            np.concatenate([self.lengths, newer.lengths]),
            tok[order],
            np.concatenate([self.row, newer.row])[order],
            np.concatenate([self.tf, newer.tf])[order],
        )

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        # Same dtype as the postings, or numpy converts the whole array on every call.
        lo, hi = self.tok.searchsorted(np.array((tid, tid + 1), dtype=self.tok.dtype))
        return self.row[lo:hi], self.tf[lo:hi]

    def write(self, vocab: Vocabulary, folder: Path) -> None:
        # Token strings, not ids: ids are only stable within one process.
        ids, local = np.unique(self.tok, return_inverse=True)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tokens.json").write_text(
            json.dumps([vocab.token(int(t)) for t in ids], ensure_ascii=False), encoding="utf-8"
        )
        np.save(folder / "tok.npy", local.reshape(-1).astype(np.int32), allow_pickle=False)
        np.save(folder / "row.npy", self.row - np.int32(self.first), allow_pickle=False)
        np.save(folder / "tf.npy", self.tf, allow_pickle=False)
        np.save(folder / "lengths.npy", self.lengths, allow_pickle=False)

    @classmethod
    def read(cls, folder: Path, first: int, rows: int, vocab: Vocabulary) -> Segment:
        tokens = json.loads((folder / "tokens.json").read_text(encoding="utf-8"))
        local = np.load(folder / "tok.npy", allow_pickle=False)
        offsets = np.load(folder / "row.npy", allow_pickle=False)
        tf = np.load(folder / "tf.npy", allow_pickle=False)
        lengths = np.load(folder / "lengths.npy", allow_pickle=False)
        if not (len(local) == len(offsets) == len(tf)) or len(lengths) != rows:
            raise ValueError(f"BM25 delta segment {folder.name} is inconsistent")
        if len(local) and (local.min() < 0 or local.max() >= len(tokens)):
            raise ValueError(f"BM25 delta segment {folder.name} has unknown tokens")
        if len(offsets) and (offsets.min() < 0 or offsets.max() >= rows):
            raise ValueError(f"BM25 delta segment {folder.name} has rows out of range")
        ids = np.array([vocab.add(str(t)) for t in tokens], dtype=np.int32)
        tok = ids[local] if len(local) else np.zeros(0, dtype=np.int32)
        order = np.argsort(tok, kind="stable")
        return cls(
            folder.name,
            first,
            lengths.astype(np.int64),
            tok[order],
            (offsets.astype(np.int32) + np.int32(first))[order],
            tf.astype(np.float32)[order],
        )


class MainSegment:
    """A bm25s index and the statistics it was built with; shared by the versions on it."""

    def __init__(self, model: Bm25sModel | None, lengths: np.ndarray | None, name: str) -> None:
        self.model = model
        self.name = name
        self.rows = int(model.scores["num_docs"]) if model is not None else 0
        # Token count per row; None for an index saved before they were kept (it can serve
        # queries but not take changes: the first change rebuilds it).
        self.lengths = lengths
        if model is not None:
            self.data = np.asarray(model.scores["data"])
            self.indices = np.asarray(model.scores["indices"])
            self.indptr = np.asarray(model.scores["indptr"])
            self.df = np.diff(self.indptr)
        else:
            self.data = np.zeros(0, dtype=np.float32)
            self.indices = np.zeros(0, dtype=np.int32)
            self.indptr = np.zeros(1, dtype=np.int64)
            self.df = np.zeros(0, dtype=np.int64)
        self.avgdl = float(lengths.mean()) if lengths is not None and len(lengths) else 0.0

    def idf32(self, tid: int) -> float:
        """The IDF bm25s multiplied this token's stored scores by."""
        return float(np.float32(lucene_idf(int(self.df[tid]), self.rows)))

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save(str(folder), allow_pickle=False, show_progress=False)
        if self.lengths is not None:
            np.save(folder / LENGTHS, self.lengths.astype(np.int32), allow_pickle=False)
            meta = {"format": FORMAT, "name": self.name, "rows": self.rows}
            (folder / MAIN_META).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> MainSegment:
        meta_path = folder / MAIN_META
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        if meta and meta.get("format") != FORMAT:
            raise ValueError(f"BM25 index format {meta.get('format')!r} is not {FORMAT}")
        name = str(meta.get("name") or folder.name)
        model = None
        if (folder / "params.index.json").exists():
            model = load_bm25s().BM25.load(str(folder), allow_pickle=False, mmap=False)
        lengths = None
        if meta:
            lengths = np.load(folder / LENGTHS, allow_pickle=False).astype(np.int64)
        elif model is None:
            lengths = np.zeros(0, dtype=np.int64)  # an empty index (folder left empty)
        main = cls(model, lengths, name)
        if lengths is not None and len(lengths) != main.rows:
            raise ValueError(f"BM25 index has {main.rows} rows but {len(lengths)} lengths")
        return main
