"""The analyzer: how chunk text and questions become BM25 terms (and highlight words)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

from retrieval.third_party import load_bm25s

# bm25s.tokenize's defaults (the scikit-learn word pattern, lowercase, English stopwords).
_WORD = re.compile(r"(?u)\b\w\w+\b")
# Distinct words whose stems are remembered (~150 bytes each); past this the memo starts over.
STEM_MEMO_WORDS = 50_000


class Analyzer:
    """Lowercase, drop English stopwords, Snowball-stem: the same for chunks and questions.

    Gives exactly what bm25s.tokenize gives (tests/retrieval/test_analyzer.py) at a fraction
    of its cost per call (it rebuilds the stopword set for every text), which matters as
    questions re-tokenize passages' sentences; stems are memoized, as words repeat a lot."""

    def __init__(self) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(load_bm25s().stopwords.STOPWORDS_EN)
        self._stems: dict[str, str] = {}

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        stopwords = self._stopwords
        words = [[w for w in _WORD.findall(t.lower()) if w not in stopwords] for t in texts]
        stems = self._stems
        found = [list(map(stems.get, ws)) for ws in words]
        unknown = [i for i, f in enumerate(found) if None in f]
        if not unknown:  # the usual case: every word seen before
            return cast(list[list[str]], found)
        missing = list({w for i in unknown for w in words[i]}.difference(stems))
        if len(stems) + len(missing) > STEM_MEMO_WORDS:
            # A new dict, not clear(): a concurrent call keeps reading the one it has.
            stems = {}
            self._stems = stems
            missing = list({w for ws in words for w in ws})
            unknown = list(range(len(words)))
        stems.update(zip(missing, self._stemmer.stemWords(missing), strict=True))
        for i in unknown:
            found[i] = list(map(stems.__getitem__, words[i]))
        return cast(list[list[str]], found)
