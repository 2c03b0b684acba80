"""How sure a search is: too vague to search, no good match, or answered, and how strongly
each hit on the page is supported.

Three decisions, each from evidence the ranking already computed:

- **Vague** (`vague_question`): a question with no content word left once stopwords and
  conversational filler ("tell me about it", "what happened?") are dropped, or that is a bare
  lowercase word naming no article's subject ("clear", but not "oxygen" when an article is
  titled "Oxygen", nor a name such as "Brexit" or "NATO", nor "What are spraints?"), cannot
  be answered by quoting: the reply asks for something specific instead of quoting guesses.
- **Support** (`support`): the confidence that a passage answers, a weighted sum of its cosine
  with the question, its BM25 share (its score over the most any passage could score) and its
  best sentence's share of the question's words. The two shares weight words by IDF, and IDF
  is only as good as the collection it is counted on: on seven articles a word no article uses
  gets the highest IDF (log 16) while the story's own words, in two of the seven, get about 1,
  so a question asked of a small collection is penalised for every word the handful of
  articles happens not to use. Each share is therefore a mix of its IDF-weighted form and its
  plain form (the share of the question's distinct words present), the IDF form weighted by
  `idf_trust(N) = N / (N + IDF_PRIOR_ROWS)` for N indexed passages: the standard shrinkage of
  an estimate from N observations towards its uninformative prior (uniform weights), the
  prior as strong as IDF_PRIOR_ROWS passages. On the shared SQuAD index (thousands of
  passages) the IDF form keeps over 0.99 of the weight, so its calibrated threshold keeps its
  meaning; on seven passages the plain share gets 0.3 of it.
- **Page cut and labels** (`page_length`, `labels`): the page stops at a clear drop in support
  (see PAGE_* below), and a hit's label is the band of its support, never higher than the
  label of the hit above it, so labels never rise down the page.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from retrieval.text.analyzer import Analyzer
from retrieval.third_party import load_bm25s

# The weights of the three kinds of evidence (see docs/benchmarks.md, "Abstention trade-off":
# a coarse grid on SQuAD answerable vs off-topic Cranfield questions; a broad plateau around
# these values loses the fewest answers at 90 % abstention).
CONFIDENCE_COSINE = 0.25
CONFIDENCE_BM25 = 0.35
CONFIDENCE_SENTENCE = 0.4
# Passages at which the IDF form of a share gets half the weight (see the module docstring).
# A coarse sweep (3, 10, 30, 100) on tests/quality/data/trust: 3 kept every answerable
# question answered on seven articles with all off-collection ones refused there (0.80 on the
# shipped articles); 100 answered as many but refused 0.74 and 0.63.
IDF_PRIOR_ROWS = 3

# A hit stays on the page while its support is at least this share of the first hit's, and no
# step down from the hit above it loses more than PAGE_MAX_GAP of the first hit's support:
# below that the rest are weaker matches, counted ("3 weaker matches left out") and kept for
# "More results". Measured on SQuAD (docs/calibration.md).
PAGE_MIN_SHARE = 0.6
PAGE_MAX_GAP = 0.25

Label = Literal["strong match", "good match", "partial match"]
# Support at or above which a hit is a "strong" or a "good" match (the precision of each band
# on SQuAD is in docs/calibration.md).
STRONG_SUPPORT = 0.5
GOOD_SUPPORT = 0.35

# Words that ask or converse but name no topic, besides the English function words (the
# pronouns, question words and auxiliaries of bm25s's STOPWORDS_EN_PLUS, NLTK's list).
FILLER_WORDS = (
    "tell explain describe say said says saying mean means meaning happen happened happening "
    "thing things stuff something anything everything nothing someone anyone somebody anybody "
    "news new latest update updates info information detail details know think like want "
    "please thanks thank hello hi hey ok okay yes yeah true really more less else "
    "question questions answer answers talk talking help come came going go get got "
    "good bad lot lots kind sort way ways one ones"
)
_CAPITALISED = re.compile(r"[A-Z0-9]")


def idf_trust(rows: int) -> float:
    """How much an IDF-weighted share is trusted on a collection of `rows` passages."""
    return rows / (rows + IDF_PRIOR_ROWS) if rows > 0 else 0.0


def mixed_share(idf_share: float, plain_share: float, rows: int) -> float:
    trust = idf_trust(rows)
    return trust * idf_share + (1.0 - trust) * plain_share


def plain_share(query_tokens: Sequence[str], words: Iterable[str]) -> float:
    """The share of the question's distinct words found in `words`."""
    wanted = set(query_tokens)
    if not wanted:
        return 0.0
    return len(wanted.intersection(words)) / len(wanted)


def support(cosine: float, bm25_share: float, sentence_share: float) -> float:
    return (
        CONFIDENCE_COSINE * cosine
        + CONFIDENCE_BM25 * bm25_share
        + CONFIDENCE_SENTENCE * sentence_share
    )


@dataclass(frozen=True)
class QuestionWords:
    content: list[str]  # analyzed (stemmed) words naming what is asked about
    vague: bool


class _Filler:
    """The function and filler words as the analyzer stems them, once per analyzer."""

    def __init__(self) -> None:
        self._by_analyzer: weakref.WeakKeyDictionary[Analyzer, frozenset[str]] = (
            weakref.WeakKeyDictionary()
        )

    def of(self, analyzer: Analyzer) -> frozenset[str]:
        found = self._by_analyzer.get(analyzer)
        if found is None:
            function_words = " ".join(sorted(load_bm25s().stopwords.STOPWORDS_EN_PLUS))
            found = frozenset(analyzer.tokens([f"{function_words} {FILLER_WORDS}"])[0])
            self._by_analyzer[analyzer] = found
        return found


_FILLER = _Filler()


def question_words(
    question: str,
    query_tokens: Sequence[str],
    analyzer: Analyzer,
    is_subject: Callable[[str], bool],
) -> QuestionWords:
    """The question's content words, and whether it is too vague to search (see the module
    docstring). `is_subject(word)`: some article's title holds the analyzed word."""
    filler = _FILLER.of(analyzer)
    content = list(dict.fromkeys(t for t in query_tokens if t not in filler))
    if not content:
        return QuestionWords(content, vague=True)
    written = re.findall(r"\w+", question)
    if len(written) == 1:
        # A bare word: specific when written as a name or number, or when an article is
        # about it; a bare common word ("clear") is a keyword, not a question.
        named = _CAPITALISED.search(written[0]) is not None
        return QuestionWords(content, vague=not named and not is_subject(content[0]))
    return QuestionWords(content, vague=False)


def page_length(supports: Sequence[float]) -> int:
    """How many of the hits, best first, to show: up to the first clear drop in support."""
    if not supports:
        return 0
    top = supports[0]
    if top <= 0:
        return len(supports)
    kept = 1
    for previous, current in itertools.pairwise(supports):
        if current < PAGE_MIN_SHARE * top or previous - current > PAGE_MAX_GAP * top:
            break
        kept += 1
    return kept


def band(value: float) -> Label:
    if value >= STRONG_SUPPORT:
        return "strong match"
    if value >= GOOD_SUPPORT:
        return "good match"
    return "partial match"


_RANK: dict[Label, int] = {"strong match": 2, "good match": 1, "partial match": 0}


def labels(supports: Sequence[float]) -> list[Label]:
    """Each hit's label: the band of its support, capped by the label above it."""
    out: list[Label] = []
    for value in supports:
        label = band(value)
        if out and _RANK[label] > _RANK[out[-1]]:
            label = out[-1]
        out.append(label)
    return out
