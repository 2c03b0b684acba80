"""Which sentence of an excerpt answers the question: lexical overlap weighted by IDF, and
(for the one shown in bold) the sentence vectors' closeness to the question.

Also a ranking signal: a passage with one sentence that holds most of the question's rare
words is a better citation than one that spreads them thin.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.index.snapshot import Snapshot
from retrieval.text.passage_sentences import Sentences
from retrieval.text.sentences import parts_between_headings


@dataclass(frozen=True)
class SentenceMatch:
    start: int  # in article coordinates
    end: int
    share: float  # IDF mass of the question found in this sentence, 0..1


def best_sentences(
    passages: Sequence[Sentences],
    query_tokens: Sequence[str],
    idf: Callable[[str], float],
    avoid: Sequence[set[tuple[int, int]]] | None = None,
) -> list[SentenceMatch]:
    """For each passage, its sentence sharing the most IDF-weighted terms with the question
    (the first sentence when none shares any). `avoid[i]`: spans passage i should not pick
    if another of its sentences shares a term (one highlighted in an earlier excerpt)."""
    wanted = set(query_tokens)
    weight = {t: idf(t) for t in wanted}
    total = sum(weight[t] for t in wanted)
    matches: list[SentenceMatch] = []
    for i, passage in enumerate(passages):
        avoided = avoid[i] if avoid is not None else set()
        best, best_score = passage.spans[0], 0.0
        other, other_score = best, 0.0  # the best outside `avoided`
        if wanted:
            for span, words in zip(passage.spans, passage.words, strict=True):
                score = sum(weight[t] for t in wanted.intersection(words))
                if score > best_score:
                    best, best_score = span, score
                if score > other_score and span not in avoided:
                    other, other_score = span, score
        if avoided and best in avoided and other_score > 0:
            best, best_score = other, other_score
        matches.append(SentenceMatch(best[0], best[1], best_score / total if total else 0.0))
    return matches


# The answer sentence (the one shown in bold) is chosen with the ranking's own evidence: the
# sentence's share of the question's IDF mass (the lexical match the rerank and the
# confidence use) and its cosine with the question (the sentence vectors the rerank reads),
# in equal parts; a sentence without a vector of its own (one-passage articles) is judged on
# its share alone. A sentence all of whose words are the question's restates it and cannot
# hold the answer: it counts for RESTATES of its score. Measured on SQuAD with
# bench/answer_sentence.py (bench/results/answer_sentence.json): the first excerpt's bold
# sentence holds the gold answer in 85.7 % of the excerpts holding it, against 85.2 % for
# the lexical share alone (85.4 % without the answer-type term below).
# A question asking for a name ("Who …") or a number or date ("How many …", "When …")
# is answered by a sentence holding one the question does not: ANSWER_TYPE more for it.
ANSWER_TYPE = 0.1
_WORDS = re.compile(r"\w+")
_ASKS_NAME = re.compile(r"^\W*(who|whom|whose)\b", re.IGNORECASE)
_ASKS_NUMBER = re.compile(
    r"^\W*(when|how (many|much|long|old|far)|in what year|what (year|date|percentage))\b",
    re.IGNORECASE,
)
ANSWER_LEXICAL = 0.5
ANSWER_DENSE = 0.5
RESTATES = 0.5


@dataclass(frozen=True)
class Candidate:
    """One sentence that may be shown in bold: its span (heading lines left out), its
    analyzed words and its vector, when it was encoded on its own."""

    start: int
    end: int
    words: tuple[str, ...]
    vector: np.ndarray | None


def answer_sentence(
    candidates: Sequence[Candidate],
    query_tokens: Sequence[str],
    idf: Callable[[str], float],
    query_vector: np.ndarray | None,
    avoid: set[tuple[int, int]] | None = None,
    question: str = "",
    text: str = "",
) -> tuple[int, int] | None:
    """The span of the candidate most likely to answer (None when there is none); `avoid`:
    spans already shown in bold on the page, passed over while another candidate shares a
    word with the question."""
    wanted = set(query_tokens)
    weight = {t: idf(t) for t in wanted}
    total = sum(weight.values()) or 1.0
    expects = _expected_answer(question)
    question_words = {w.casefold() for w in _WORDS.findall(question)}

    def text_of(candidate: Candidate) -> str:
        return text[candidate.start : candidate.end]

    best: tuple[float, float, tuple[int, int]] | None = None  # (score, share, span)
    other: tuple[float, float, tuple[int, int]] | None = None  # the best outside `avoid`
    for candidate in candidates:
        share = sum(weight[t] for t in wanted.intersection(candidate.words)) / total
        if candidate.vector is not None and query_vector is not None:
            cosine = float(candidate.vector @ query_vector)
            score = ANSWER_LEXICAL * share + ANSWER_DENSE * cosine
        else:
            score = (ANSWER_LEXICAL + ANSWER_DENSE) * share
        if expects is not None and expects(text_of(candidate), question_words):
            score += ANSWER_TYPE
        if candidate.words and wanted.issuperset(candidate.words):
            score = score * RESTATES if score > 0 else score / RESTATES
        span = (candidate.start, candidate.end)
        if best is None or score > best[0]:
            best = (score, share, span)
        if (not avoid or span not in avoid) and (other is None or score > other[0]):
            other = (score, share, span)
    if best is None:
        return None
    if avoid and best[2] in avoid and other is not None and other[1] > 0:
        return other[2]
    return best[2]


def candidates_of(
    text: str,
    sentences: Sentences,
    vectors: tuple[np.ndarray, np.ndarray] | None,
    tokenize: Callable[[Sequence[str]], list[list[str]]],
) -> list[Candidate]:
    """A passage's sentences as candidates: heading lines taken out (a sentence that is
    only a heading is none, one with a heading inside is the parts around it), each
    with its vector when one was stored for its span."""
    by_span: dict[tuple[int, int], np.ndarray] = {}
    if vectors is not None:
        bounds, rows = vectors
        by_span = {(int(s), int(e)): rows[i] for i, (s, e) in enumerate(bounds.tolist())}
    out: list[Candidate] = []
    retokenize: list[int] = []
    for span, words in zip(sentences.spans, sentences.words, strict=True):
        for part in parts_between_headings(text, *span):
            if part != span:
                retokenize.append(len(out))
            out.append(Candidate(part[0], part[1], words, by_span.get(span)))
    if retokenize:
        fresh = tokenize([text[out[i].start : out[i].end] for i in retokenize])
        for i, tokens in zip(retokenize, fresh, strict=True):
            c = out[i]
            # A vector of the sentence with its heading is still the sentence's.
            out[i] = Candidate(c.start, c.end, tuple(dict.fromkeys(tokens)), c.vector)
    return out


def choose_answer_sentences(
    snapshot: Snapshot,
    rows: Sequence[int],
    query_tokens: Sequence[str],
    tokenize: Callable[[Sequence[str]], list[list[str]]],
    query_vector: np.ndarray | None,
    question: str = "",
) -> dict[int, tuple[int, int]]:
    """The span shown in bold in each of the page's `rows`, in page order: overlapping
    passages of one article often share their best sentence, and a later excerpt then shows
    its next best one (if it shares a word with the question) rather than the same one
    twice. Rows without a candidate (only headings) are left out."""
    passages = snapshot.sentences.get(list(rows), snapshot.passage, tokenize)
    vectors: list[tuple[np.ndarray, np.ndarray]] | None = None
    if snapshot.sentence_vectors is not None and query_vector is not None and rows:
        vectors = snapshot.sentence_vectors.spans_within([snapshot.passage_ref(r) for r in rows])
    shown: dict[str, set[tuple[int, int]]] = {}
    chosen: dict[int, tuple[int, int]] = {}
    weights: dict[str, Callable[[str], float]] = {}
    for position, (row, sentences) in enumerate(zip(rows, passages, strict=True)):
        text = snapshot.passage(row)[0]
        candidates = candidates_of(
            text, sentences, vectors[position] if vectors else None, tokenize
        )
        article_id = snapshot.chunks.article_ids[row]
        if article_id not in weights:
            weights[article_id] = _article_weights(snapshot, row, query_tokens, tokenize)
        used = shown.setdefault(article_id, set())
        span = answer_sentence(
            candidates, query_tokens, weights[article_id], query_vector, used, question, text
        )
        if span is not None:
            chosen[row] = span
            used.add(span)
    return chosen


def _article_weights(
    snapshot: Snapshot,
    row: int,
    query_tokens: Sequence[str],
    tokenize: Callable[[Sequence[str]], list[list[str]]],
) -> Callable[[str], float]:
    """The question's words weighted as the passage rerank weighs them within an article:
    by their IDF, and a word of the title (prepended to every passage, so in all of them)
    by how little it tells the article's passages apart, log 2 / log(1 + passages)."""
    article_ids = snapshot.chunks.article_ids
    article_id = article_ids[row]
    # An article's passages are stored next to each other, in order.
    first, last = row, row
    while first > 0 and article_ids[first - 1] == article_id:
        first -= 1
    while last + 1 < len(article_ids) and article_ids[last + 1] == article_id:
        last += 1
    passages = last - first + 1
    title = set(tokenize([snapshot.articles[article_id].title])[0])
    damp = math.log(2) / math.log1p(passages)
    idf = snapshot.lexical.idf
    table = {t: idf(t) * (damp if t in title else 1.0) for t in set(query_tokens)}
    return table.__getitem__


def _expected_answer(question: str) -> Callable[[str, set[str]], bool] | None:
    """For a question asking for a name or a number: whether a sentence holds one that the
    question does not (a capitalized word past its first, or a number)."""
    if _ASKS_NAME.search(question):
        return lambda text, asked: any(
            w[0].isupper() and w.casefold() not in asked for w in _WORDS.findall(text)[1:]
        )
    if _ASKS_NUMBER.search(question):
        return lambda text, asked: any(
            any(c.isdigit() for c in w) and w.casefold() not in asked for w in _WORDS.findall(text)
        )
    return None
