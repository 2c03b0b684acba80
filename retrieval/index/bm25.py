"""BM25 over chunk text (title included) with bm25s, English stemming and stopwords.

An index is a *main* segment, a bm25s index whose precomputed CSC matrix of per-(token, row)
scores makes a query a few array slices, plus what changed since it was built: *delta*
segments (term-frequency postings of added rows, scored at query time) and tombstones
(removed rows). So adding or removing an article costs work in proportion to its rows, not
to the collection. When the changes add up to max(MIN_PENDING_ROWS, PENDING_SHARE x main
rows) they are compacted into a new main segment, computed with numpy from the postings
themselves and equal to what a from-scratch bm25s build of the remaining rows gives.

While changes are pending, scores use the statistics of the live rows (their number,
document frequencies and average length), exactly as a from-scratch build would: delta rows
are scored with them directly and the main rows' precomputed scores are rescaled to them, so
the two agree up to float32 rounding.

Rows: the main segment's rows are positions 0..M-1 and delta rows follow in the order they
were added; the live (not removed) positions, in order, are the index rows 0..size-1. That
matches the snapshot's chunk-id order because new chunks get larger ids.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from retrieval.index.bm25_segments import (
    BLOCK,
    K1,
    MAIN_PREFIX,
    STATE_PREFIX,
    B,
    DocFreq,
    MainSegment,
    Segment,
    Unreadable,
    Vocabulary,
    idf32,
    length_norm,
    lucene_idf,
    new_name,
)
from retrieval.third_party import load_bm25s

logger = logging.getLogger(__name__)

# Compact when the rows added or removed since the main segment was built exceed this many,
# or this share of the main segment: a compaction costs O(collection), so it is amortized
# over many adds, and a delta this size costs a query well under a millisecond more.
MIN_PENDING_ROWS = 2_000
PENDING_SHARE = 0.10
# Below this many rows a compaction takes a few milliseconds: do it on every change.
SMALL_INDEX_ROWS = 1_000
# Delta segments are merged while the older of the last two has at most this many times the
# postings of the newer: O(log) segments to look a token up in, O(log) merges per posting.
MERGE_RATIO = 2

# BM25 top k: rows sampled per row asked for, to bound the k-th best score from below.
SAMPLE_PER_K = 64


class LexicalIndex:
    """BM25 scores of rows 0..n-1 and the document frequencies used for highlighting.

    Immutable: a change returns a new index sharing the unchanged parts, so searches on the
    previous snapshot go on undisturbed."""

    def __init__(
        self,
        main: MainSegment,
        vocab: Vocabulary,
        df: np.ndarray,
        *,
        segments: tuple[Segment, ...] = (),
        delta_lengths: np.ndarray | None = None,
        dead: np.ndarray | None = None,
        size: int | None = None,
        total_length: int | None = None,
        state_name: str | None = None,
    ) -> None:
        self._main = main
        self._model = main.model  # the bm25s object (benchmarks read its arrays' sizes)
        self._vocab = vocab
        self._df = df
        self._segments = segments
        self._delta_lengths = (
            delta_lengths if delta_lengths is not None else np.zeros(0, dtype=np.int64)
        )
        self._dead = dead if dead is not None else np.zeros(0, dtype=np.int64)
        self._end = main.rows + len(self._delta_lengths)  # positions in use, dead or alive
        self.size = self._end - len(self._dead) if size is None else size
        if total_length is None:
            total_length = int(main.lengths.sum()) if main.lengths is not None else 0
        self._total_length = total_length
        self._state_name = state_name or new_name(STATE_PREFIX)
        # Nothing changed since the bm25s build: its own scoring is exact and fastest.
        self._plain = not segments and not len(self._dead)
        self.doc_freq: Mapping[str, int] = DocFreq(vocab, df)
        self._cache: dict[str, np.ndarray | None] = {}

    # -- building --------------------------------------------------------------------------

    @classmethod
    def build(cls, tokens: Sequence[Sequence[str]]) -> LexicalIndex:
        """A from-scratch bm25s index of these rows."""
        bm25s = load_bm25s()

        # An empty token list still needs a row so row numbers stay aligned with chunks.
        rows = [list(t) or [""] for t in tokens]
        model = None
        if rows:
            model = bm25s.BM25(k1=K1, b=B)
            model.index(rows, show_progress=False)
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        return cls.on_main(MainSegment(model, lengths, new_name(MAIN_PREFIX)))

    @classmethod
    def on_main(cls, main: MainSegment) -> LexicalIndex:
        vocab = Vocabulary(dict(main.model.vocab_dict) if main.model is not None else {})
        df = np.zeros(len(vocab), dtype=np.int64)
        df[: len(main.df)] = main.df
        return cls(main, vocab, df)

    # -- what the file format (bm25_files) reads and writes ----------------------------------

    @property
    def main(self) -> MainSegment:
        return self._main

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self._segments

    @property
    def vocab(self) -> Vocabulary:
        return self._vocab

    @property
    def dead(self) -> np.ndarray:
        """Tombstones: positions of removed rows, ascending."""
        return self._dead

    @property
    def state_name(self) -> str:
        return self._state_name

    @property
    def is_plain(self) -> bool:
        """Nothing changed since the bm25s build: the main segment is the whole index."""
        return self._plain

    @property
    def can_update(self) -> bool:
        """False for an index saved without its row lengths (by an older version)."""
        return self._main.lengths is not None

    @property
    def pending_rows(self) -> int:
        """Rows added or removed since the main segment was built."""
        return len(self._delta_lengths) + int(np.count_nonzero(self._dead < self._main.rows))

    def wants_compaction(self) -> bool:
        pending = self.pending_rows
        if not pending:
            return False
        if self.size <= SMALL_INDEX_ROWS:
            return True
        return pending > max(MIN_PENDING_ROWS, PENDING_SHARE * self._main.rows)

    def updated(
        self,
        removed_rows: np.ndarray,
        removed_tokens: Sequence[Sequence[str]],
        added_tokens: Sequence[Sequence[str]],
    ) -> LexicalIndex:
        """This index without `removed_rows` (given with the tokens they were indexed with)
        and with rows of `added_tokens` after the last: work in proportion to those rows,
        plus copies of small per-row arrays."""
        if not self.can_update:
            raise ValueError("this BM25 index has no row lengths; rebuild it instead")
        removed_rows = np.asarray(removed_rows, dtype=np.int64)
        if len(removed_rows) != len(removed_tokens):
            raise ValueError("one token list per removed row is needed")
        if not len(removed_rows) and not added_tokens:
            return self
        main = self._main
        assert main.lengths is not None
        gone = self._positions()[removed_rows] if len(removed_rows) else removed_rows
        in_main = gone < main.rows
        gone_lengths = np.empty(len(gone), dtype=np.int64)
        gone_lengths[in_main] = main.lengths[gone[in_main]]
        gone_lengths[~in_main] = self._delta_lengths[gone[~in_main] - main.rows]
        counted = np.array([max(len(tokens), 1) for tokens in removed_tokens], dtype=np.int64)
        if not np.array_equal(counted, gone_lengths):
            raise ValueError("removed rows' tokens do not match the index")
        vocab = self._vocab
        added = [[vocab.add(t) for t in (tokens or [""])] for tokens in added_tokens]
        df = np.zeros(len(vocab), dtype=np.int64)
        df[: len(self._df)] = self._df
        unique_added = [tid for ids in added for tid in set(ids)]
        np.add.at(df, np.array(unique_added, dtype=np.int64), 1)
        unique_removed = [
            tid
            for tokens in removed_tokens
            for tid in {vocab.get(t) for t in (tokens or [""])}
            if tid is not None
        ]
        np.subtract.at(df, np.array(unique_removed, dtype=np.int64), 1)
        if len(unique_removed) and df.min() < 0:
            raise ValueError("removed rows' tokens do not match the index")

        removed_length = int(gone_lengths.sum())
        segments = self._segments
        delta_lengths = self._delta_lengths
        if added:
            segment = Segment.from_rows(self._end, added)
            segments = _merge_tail((*segments, segment))
            delta_lengths = np.concatenate([delta_lengths, segment.lengths])
        added_length = sum(len(ids) for ids in added)
        return LexicalIndex(
            main,
            vocab,
            df,
            segments=segments,
            delta_lengths=delta_lengths,
            dead=np.union1d(self._dead, gone).astype(np.int64),
            size=self.size - len(removed_rows) + len(added),
            total_length=self._total_length - removed_length + added_length,
        )

    def compacted(self) -> LexicalIndex | None:
        """The live rows as one new main segment, equal to `build` of their tokens (the same
        float32 scores; token columns may be numbered differently). Term frequencies of main
        rows are read back from their scores and checked to reproduce them bit for bit; None
        if they do not (then build from the tokens)."""
        main = self._main
        if main.lengths is None:
            return None
        alive = np.ones(self._end, dtype=bool)
        alive[self._dead] = False
        lengths = np.concatenate([main.lengths, self._delta_lengths])[alive]
        if not len(lengths):
            return LexicalIndex.build([])
        new_row = (np.cumsum(alive) - 1).astype(np.int32)
        vocab = self._vocab
        # The kept tokens are those some live row has; their live document frequencies are
        # the new columns' lengths, so each posting's place is known without sorting.
        used = np.flatnonzero(self._df > 0)
        column = np.full(len(vocab), -1, dtype=np.int64)
        column[used] = np.arange(len(used))
        df = self._df[used]
        indptr = np.zeros(len(used) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        n = len(lengths)
        avgdl = lengths.mean()  # as bm25s: the mean of an int64 array
        idf = idf32(df, n).astype(np.float64)
        norm = length_norm(lengths, avgdl)
        data = np.empty(indptr[-1], dtype=np.float32)
        indices = np.empty(indptr[-1], dtype=np.int32)
        free = indptr[:-1].copy()  # next free slot of each column

        # Main postings come in (column, row) order and each segment's too, and positions
        # only grow from main to segment to segment: placed in that order within their
        # column, they are in CSC order.
        try:
            for positions, tids, tf in self._live_postings(alive):
                cols = column[tids]
                counts = np.bincount(cols, minlength=len(used))
                if (len(cols) and cols.min() < 0) or (free + counts > indptr[1:]).any():
                    return None  # postings disagree with the document frequencies
                # Column c's postings in this block go to free[c] onwards, in block order.
                shift = free - (np.cumsum(counts) - counts)
                dest = shift[cols] + np.arange(len(cols))
                rows = new_row[positions]
                t = tf.astype(np.float64)
                # The same operations as bm25s (idf32 x tf / (norm + tf), in float64, stored
                # as float32), so the scores are equal bit for bit.
                data[dest] = idf[cols] * (t / (norm[rows] + t))
                indices[dest] = rows
                free += counts
        except Unreadable:
            return None
        if not np.array_equal(free, indptr[1:]):
            return None

        vocab_dict = {vocab.token(int(tid)): i for i, tid in enumerate(used.tolist())}
        if "" not in vocab_dict:  # bm25s's create_empty_token
            vocab_dict[""] = len(used)
        model = load_bm25s().BM25(k1=K1, b=B)
        model.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n}
        model.vocab_dict = vocab_dict
        model.unique_token_ids_set = set(vocab_dict.values())
        model.nonoccurrence_array = None
        return LexicalIndex.on_main(MainSegment(model, lengths, new_name(MAIN_PREFIX)))

    def _live_postings(
        self, alive: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Blocks of (positions, token ids, term frequencies) of the live rows: the main
        segment's in CSC order, then each delta segment's. Main term frequencies are solved
        from the stored scores (s = idf x tf / (tf + norm)) and must give them back exactly,
        else Unreadable."""
        main = self._main
        assert main.lengths is not None
        idf = idf32(main.df, main.rows).astype(np.float64)
        norm = length_norm(main.lengths, main.avgdl)
        step = max(BLOCK, 2 * len(main.df))  # each block also costs O(vocabulary)
        for a in range(0, len(main.data), step):
            b = min(a + step, len(main.data))
            # The token of each posting: its column's run, clipped to the block.
            c0 = int(np.searchsorted(main.indptr, a, side="right")) - 1
            c1 = int(np.searchsorted(main.indptr, b, side="left"))
            bounds = np.clip(main.indptr[c0 : c1 + 1], a, b)
            cols = np.repeat(np.arange(c0, c1, dtype=np.int32), np.diff(bounds))
            rows = main.indices[a:b]
            stored = main.data[a:b]
            token_idf = idf[cols]
            row_norm = norm[rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                v = stored / token_idf
                tf = np.rint(v * row_norm / (1.0 - v))
                # Also rejects NaN, infinite or zero solutions: none reproduces a score.
                again = (token_idf * (tf / (row_norm + tf))).astype(np.float32)
            if not np.array_equal(again, stored):
                raise Unreadable
            keep = alive[rows]
            yield rows[keep], cols[keep], tf[keep].astype(np.float32)
        for seg in self._segments:
            keep = alive[seg.row]
            yield seg.row[keep], seg.tok[keep], seg.tf[keep]

    # -- scoring ---------------------------------------------------------------------------

    def idf(self, token: str) -> float:
        df = self.doc_freq.get(token, 0)
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def max_score(self, query_tokens: Sequence[str], *, include_unknown: bool = False) -> float:
        """The score a document would get by matching every query term very often; used to
        express a BM25 score as a 0..1 share. Unknown terms count at the highest IDF when
        `include_unknown`, so a question full of words no article uses scores low. A term
        the question repeats counts as often as `scores` counts it (once per occurrence):
        over distinct terms, "oxygen oxygen ... oxygen" had shares, fused scores and a
        confidence far above 1."""
        return sum(
            self.idf(t) * (K1 + 1.0) for t in query_tokens if include_unknown or t in self.doc_freq
        )

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray | None:
        """BM25 score of every row, or None when no query term occurs in the corpus."""
        known = [t for t in query_tokens if t in self.doc_freq]
        if not known:
            return None
        if self._plain:
            assert self._model is not None  # only an index without rows has none (no terms)
            return np.asarray(self._model.get_scores(known), dtype=np.float32)
        return self._scores_with_changes(known)

    def _scores_with_changes(self, known: list[str]) -> np.ndarray:
        # float32 throughout and np.add.at per term, as bm25s scores: converting postings
        # to float64 (bincount) costs more than the arithmetic.
        main = self._main
        n = self.size
        ratio = self._main_ratio()
        delta_norm = self._delta_norm()
        out = np.zeros(self._end, dtype=np.float32)  # by position, dead ones included
        for token in known:
            tid = self._vocab.get(token)
            assert tid is not None
            idf = lucene_idf(int(self._df[tid]), n)
            if tid < len(main.df) and main.df[tid]:
                a, b = main.indptr[tid], main.indptr[tid + 1]
                rows = main.indices[a:b]
                stored = main.data[a:b]
                idf_main = main.idf32(tid)
                if ratio is None:  # same average length: only the IDF changed
                    np.add.at(out, rows, stored * (idf / idf_main))
                else:
                    # stored = idf_main x v with v = tf / (tf + norm_main), so the score
                    # under the live average length is idf x v / (v + (1 - v) x ratio)
                    # = idf x s / (s + (idf_main - s) x ratio); in place, as postings can
                    # be long and fresh temporaries cost more than the arithmetic.
                    scaled = ratio[rows]
                    scaled *= idf_main - stored
                    scaled += stored
                    np.divide(stored, scaled, out=scaled)
                    scaled *= idf
                    np.add.at(out, rows, scaled)
            for seg in self._segments:
                rows, tf = seg.postings(tid)
                if len(rows):
                    norm = delta_norm[rows - np.int32(main.rows)]
                    np.add.at(out, rows, idf * tf / (tf + norm))
        live = self._live()
        return out if live is None else out[live]

    def _main_ratio(self) -> np.ndarray | None:
        """Per main row: its length norm under the live average length over the one its
        scores were built with; None when the average did not change."""
        if "ratio" not in self._cache:
            main = self._main
            ratio = None
            avgdl = self._total_length / self.size if self.size else 0.0
            if main.rows and main.lengths is not None and avgdl != main.avgdl:
                ratio = length_norm(main.lengths, avgdl) / length_norm(main.lengths, main.avgdl)
                ratio = ratio.astype(np.float32)
            self._cache["ratio"] = ratio
        return self._cache["ratio"]

    def _delta_norm(self) -> np.ndarray:
        if "delta_norm" not in self._cache:
            avgdl = self._total_length / self.size if self.size else 1.0
            self._cache["delta_norm"] = length_norm(self._delta_lengths, avgdl).astype(np.float32)
        norm = self._cache["delta_norm"]
        assert norm is not None
        return norm

    def _live(self) -> np.ndarray | None:
        """Positions of the live rows, in row order; None when every position is live."""
        if not len(self._dead):
            return None
        if "live" not in self._cache:
            alive = np.ones(self._end, dtype=bool)
            alive[self._dead] = False
            self._cache["live"] = np.flatnonzero(alive)
        return self._cache["live"]

    def _positions(self) -> np.ndarray:
        live = self._live()
        return np.arange(self._end, dtype=np.int64) if live is None else live

    def search(
        self,
        query_tokens: Sequence[str],
        k: int,
        scores: np.ndarray | None = None,
        *,
        ranked: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores, best first; only rows with a positive score. Rows with equal
        scores come in the (fixed but arbitrary) order numpy's partition leaves them in;
        `ranked=False`: the caller only needs which rows (in any order)."""
        if scores is None:
            scores = self.scores(query_tokens)
        if scores is None or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = _top_without_ties(scores, k, ranked=ranked)
        if top is None:
            k = min(k, scores.shape[0])
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            top = top[scores[top] > 0].astype(np.int64)
        return top, scores[top].astype(np.float32)


def _top_without_ties(scores: np.ndarray, k: int, *, ranked: bool) -> np.ndarray | None:
    """The k best rows with a positive score, best first, found without partitioning every
    row (~12 ms at a million rows); None when equal scores would make the choice (at the
    k-th place) or the order (with `ranked`) differ from a full partition's.

    Only rows scoring at least the k-th best of an evenly spaced sample can be among the k
    best (the sample's k-th best is at most the whole array's): usually a few thousand."""
    sample = scores[:: max(1, scores.shape[0] // (k * SAMPLE_PER_K))]
    floor = np.partition(sample, sample.size - k)[sample.size - k] if sample.size > k else 0
    rows = np.flatnonzero(scores >= floor if floor > 0 else scores > 0)
    values = scores[rows]
    if rows.size > k:
        # The k + 1 best (and rows tied with them), to see whether the k-th place is tied.
        keep = values >= np.partition(values, rows.size - k - 1)[rows.size - k - 1]
        rows, values = rows[keep], values[keep]
    order = np.lexsort((rows, -values))
    rows, values = rows[order], values[order]
    if rows.size > k and values[k] == values[k - 1]:
        return None
    rows, values = rows[:k], values[:k]
    if ranked and np.any(values[1:] == values[:-1]):
        return None
    return rows.astype(np.int64)


def _merge_tail(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    out = list(segments)
    while len(out) >= 2 and out[-2].nnz <= MERGE_RATIO * out[-1].nnz:
        newer = out.pop()
        out[-1] = out[-1].merged(newer)
    return tuple(out)
