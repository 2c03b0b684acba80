"""When two articles are copies of one story: the rule for wire copies (near-duplicates).

Exact copies are one article (retrieval.duplicates). A wire story republished by another outlet
is not exact: a credit line is added, a header, a few words edited. Such copies share most of
their three-word sequences (word shingles), which two different stories about the same event
do not, even with the same names, places and date. The overlap is the Jaccard similarity of
the shingle sets, estimated from MinHash signatures (datasketch); locality-sensitive hashing
cuts each signature into bands so that candidates are found by equal bands, without comparing
an article with every other (retrieval/index/groups.py keeps the bands in SQLite).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from retrieval.duplicates import normalize_text

if TYPE_CHECKING:
    from datasketch import MinHash


def warm_up() -> None:
    """Import datasketch now (~1 s with scipy), before the bot connects: the first add would
    otherwise import it in a worker thread, and loading extension modules holds the GIL."""
    import datasketch  # noqa: F401


# Short enough for light edits to spare most shingles, long enough to tell stories apart.
SHINGLE_WORDS = 3
NUM_PERM = 128  # estimate error ~ 1/sqrt(128) ~ 0.09 around the threshold
SEED = 1
SCHEME = "affine32"  # datasketch's permutation scheme, named: values carry no trace of it
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class CopyParams:
    """How signatures are made and banded; stored with the index, so a change regroups it."""

    threshold: float
    bands: int
    rows: int

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    @property
    def key(self) -> str:
        return (
            f"minhash:{SCHEME}:{NUM_PERM}:{SEED}:shingles{SHINGLE_WORDS}:"
            f"{self.threshold:g}:{self.bands}x{self.rows}"
        )


@cache
def copy_params(threshold: float) -> CopyParams:
    """datasketch's choice of bands x rows for `threshold` (equal weight on the false
    positives and false negatives it integrates over)."""
    if threshold <= 0:
        return CopyParams(0.0, 0, 0)
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return CopyParams(threshold, int(lsh.b), int(lsh.r))


def shingles(text: str) -> set[bytes]:
    """The article's word 3-grams, case and Unicode form set aside (as for exact copies)."""
    words = _WORD.findall(normalize_text(text))
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8")
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


@cache
def _template() -> MinHash:
    """One MinHash whose permutations the others reuse (making them costs more than hashing
    an article's shingles)."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


def signature(text: str) -> np.ndarray | None:
    """The text's MinHash values (uint32), or None for a text without words (no copy of
    anything)."""
    found = shingles(text)
    if not found:
        return None
    from datasketch import MinHash

    minhash = MinHash(permutations=_template().permutations, scheme=SCHEME)
    minhash.update_batch(sorted(found))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures (MinHash.jaccard's estimate)."""
    return float(np.count_nonzero(first == second)) / len(first)


def band_keys(values: np.ndarray, params: CopyParams) -> list[int]:
    """One 63-bit key per band: two articles are candidates when any band's key is equal."""
    keys = []
    for band in range(params.bands):
        part = values[band * params.rows : (band + 1) * params.rows]
        digest = hashlib.blake2b(part.astype("<u4").tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)  # SQLite integers are signed
    return keys


def to_blob(values: np.ndarray) -> bytes:
    return values.astype("<u4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4")
