"""Third-party libraries loaded on first use: importing them costs start-up time that
`newsdesk --help` and `index status` should not pay.

Each loader hands the module out as a small Protocol of just what newsdesk calls (bm25s has
no type information, and faiss has stubs only in recent releases), so the code using them is
type-checked against that surface; the `cast` in a loader is where the untyped module comes
in."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, TypedDict, cast

if TYPE_CHECKING:
    import numpy as np

# -- bm25s --------------------------------------------------------------------------------


class Bm25sScores(TypedDict):
    """A bm25s index's precomputed scores: a CSC matrix, one column per token id."""

    data: np.ndarray  # float32 score per (token, row)
    indices: np.ndarray  # int32 row of each score
    indptr: np.ndarray  # int64 start of each token's column
    num_docs: int


class Bm25sModel(Protocol):
    """A `bm25s.BM25` index."""

    scores: Bm25sScores
    vocab_dict: dict[str, int]  # token -> column
    unique_token_ids_set: set[int]
    nonoccurrence_array: np.ndarray | None

    def index(self, corpus: Sequence[Sequence[str]], *, show_progress: bool = ...) -> object: ...

    def get_scores(self, query_tokens_single: list[str]) -> np.ndarray: ...

    def save(
        self, save_dir: str, *, allow_pickle: bool = ..., show_progress: bool = ...
    ) -> None: ...


class Bm25sClass(Protocol):
    """`bm25s.BM25` itself: the constructor and the `load` classmethod."""

    def __call__(self, *, k1: float, b: float) -> Bm25sModel: ...

    def load(self, save_dir: str, *, allow_pickle: bool = ..., mmap: bool = ...) -> Bm25sModel: ...


class Bm25sStopwords(Protocol):
    STOPWORDS_EN: Sequence[str]
    STOPWORDS_EN_PLUS: Sequence[str]  # NLTK's English list (pronouns, question words)


class Bm25sStemmer(Protocol):
    """What bm25s calls on a stemmer (PyStemmer's `Stemmer.Stemmer`)."""

    def stemWords(self, words: Sequence[str]) -> list[str]: ...


class Bm25sModule(Protocol):
    """The `bm25s` module."""

    BM25: Bm25sClass
    stopwords: Bm25sStopwords

    def tokenize(
        self,
        texts: str | list[str],
        *,
        stopwords: str | list[str] = ...,
        stemmer: Bm25sStemmer | None = ...,
        return_ids: bool = ...,
        show_progress: bool = ...,
    ) -> Sequence[Sequence[str]]: ...  # the tokens, as called with return_ids=False


def load_bm25s() -> Bm25sModule:
    import bm25s

    # bm25s sets its own logger to DEBUG at import, which floods any app that logs at INFO.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return cast(Bm25sModule, bm25s)


# -- faiss --------------------------------------------------------------------------------


class FaissSelector(Protocol):
    """An `IDSelector*`: only handed to search parameters, never called from Python."""


class FaissNotSelector(FaissSelector, Protocol):
    """`IDSelectorNot`, with the selector it negates kept alive beside it (SWIG does not)."""

    referenced: FaissSelector


class FaissSearchParameters(Protocol):
    """`SearchParameters` or `SearchParametersHNSW`."""

    sel: FaissSelector


class FaissIndex(Protocol):
    """A FAISS index (flat, HNSW, or the `IndexIDMap2` around either)."""

    d: int  # dimension
    ntotal: int  # rows held

    def add_with_ids(self, x: np.ndarray, xids: np.ndarray) -> None: ...

    def search(
        self, x: np.ndarray, k: int, *, params: FaissSearchParameters | None = ...
    ) -> tuple[np.ndarray, np.ndarray]: ...  # scores, ids (-1 where fewer were found)


class FaissHnsw(Protocol):
    """The graph of an HNSW index and its build/search widths."""

    efConstruction: int
    efSearch: int


class FaissHnswIndex(FaissIndex, Protocol):
    hnsw: FaissHnsw


class FaissModule(Protocol):
    """The `faiss` module (classes as the callables that make their objects)."""

    METRIC_INNER_PRODUCT: int
    IndexHNSW: type[FaissHnswIndex]

    def IndexFlatIP(self, d: int, /) -> FaissIndex: ...

    def IndexHNSWFlat(self, d: int, M: int, metric: int, /) -> FaissHnswIndex: ...

    def IndexIDMap2(self, index: FaissIndex, /) -> FaissIndex: ...

    def IDSelectorBatch(self, ids: np.ndarray, /) -> FaissSelector: ...

    def IDSelectorNot(self, selector: FaissSelector, /) -> FaissNotSelector: ...

    def IDSelectorBitmap(self, n: int, bitmap: object, /) -> FaissSelector: ...

    def IDSelectorAnd(self, lhs: FaissSelector, rhs: FaissSelector, /) -> FaissSelector: ...

    def swig_ptr(self, array: np.ndarray, /) -> object: ...

    def fvec_inner_products_by_idx(
        self, out: object, x: object, y: object, ids: object, d: int, nx: int, ny: int, /
    ) -> None: ...

    def SearchParameters(self, *, sel: FaissSelector) -> FaissSearchParameters: ...

    def SearchParametersHNSW(self, *, efSearch: int) -> FaissSearchParameters: ...

    def omp_set_num_threads(self, num_threads: int, /) -> None: ...

    def clone_index(self, index: FaissIndex, /) -> FaissIndex: ...

    def downcast_index(self, index: FaissIndex, /) -> FaissIndex: ...

    def write_index(self, index: FaissIndex, fname: str, /) -> None: ...

    def read_index(self, fname: str, /) -> FaissIndex: ...

    def deserialize_index(self, data: np.ndarray, /) -> FaissIndex: ...


def import_faiss() -> FaissModule:
    """faiss as it is (the calling thread's OpenMP thread count untouched)."""
    import faiss

    return cast(FaissModule, faiss)


def load_faiss(threads: int = 1) -> FaissModule:
    faiss = import_faiss()
    # Per calling thread: one question at a time is fastest on one core (a second thread only
    # adds contention on a 2-core box); builds use the free cores.
    faiss.omp_set_num_threads(threads)
    return faiss


# -- py3langid ----------------------------------------------------------------------------


class LanguageIdentifier(Protocol):
    """A `py3langid.langid.LanguageIdentifier` made with normalized probabilities."""

    def classify(self, text: str) -> tuple[str, float]: ...

    def rank(self, text: str) -> list[tuple[str, float]]: ...


@functools.cache
def load_language_identifier() -> LanguageIdentifier:
    """py3langid's model (97 languages; naive Bayes over byte n-grams, no pickle), with
    probabilities: deterministic and offline. Loaded once per process, on the first
    question long enough to be judged (unpacking it takes about a second)."""
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Identifier

    return cast(LanguageIdentifier, Identifier.from_model_file(MODEL_FILE, norm_probs=True))
