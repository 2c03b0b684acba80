"""Which sentence of an excerpt answers the question: lexical overlap weighted by IDF.

Also a ranking signal: a passage with one sentence that holds most of the question's rare
words is a better citation than one that spreads them thin.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.sentences import sentence_spans

TokenFn = Callable[[Sequence[str]], list[list[str]]]
# Passages whose sentences a snapshot keeps analyzed (~3 KB each, so ~12 MB at most):
# splitting and tokenizing is most of a question's rerank, and the same passages come up
# for question after question.
SENTENCE_CACHE_ROWS = 4096


@dataclass(frozen=True)
class SentenceMatch:
    start: int  # in article coordinates
    end: int
    share: float  # IDF mass of the question found in this sentence, 0..1


@dataclass(frozen=True)
class Sentences:
    """One passage split into sentences, each with its distinct analyzed words in order of
    first occurrence (so a set intersection with them iterates as it would over the whole
    token list, and IDF sums add up in the same order)."""

    spans: tuple[tuple[int, int], ...]  # in article coordinates; never empty
    words: tuple[tuple[str, ...], ...]


def split_sentences(passages: Sequence[tuple[str, int, int]], tokenize: TokenFn) -> list[Sentences]:
    """Each (text, start, end) passage's sentences (the whole passage when it has none), with
    one tokenizer call for all."""
    spans_per = [
        sentence_spans(text, start, end) or [(start, end)] for text, start, end in passages
    ]
    flat = [
        text[s:e] for (text, _, _), spans in zip(passages, spans_per, strict=True) for s, e in spans
    ]
    tokens = iter(tokenize(flat) if flat else [])
    return [
        Sentences(tuple(spans), tuple(tuple(dict.fromkeys(next(tokens))) for _ in spans))
        for spans in spans_per
    ]


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


class SentenceCache:
    """The split and analyzed sentences of the last `capacity` rows asked for (least
    recently used go first). Belongs to one snapshot, whose rows never change."""

    def __init__(self, capacity: int = SENTENCE_CACHE_ROWS) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[int, Sentences] = OrderedDict()
        self._lock = threading.Lock()  # searches may run on several threads

    def __len__(self) -> int:
        return len(self._rows)

    def get(
        self,
        rows: Sequence[int],
        passage: Callable[[int], tuple[str, int, int]],
        tokenize: TokenFn,
    ) -> list[Sentences]:
        """Sentences of `rows`; `passage(row)` gives (article text, start, end) of one not
        cached, and all those are split and tokenized together."""
        found: dict[int, Sentences] = {}
        with self._lock:
            for row in rows:
                cached = self._rows.get(row)
                if cached is not None:
                    self._rows.move_to_end(row)
                    found[row] = cached
        missing = [row for row in dict.fromkeys(rows) if row not in found]
        if missing:
            made = split_sentences([passage(row) for row in missing], tokenize)
            found.update(zip(missing, made, strict=True))
            with self._lock:
                self._rows.update(zip(missing, made, strict=True))
                while len(self._rows) > self.capacity:
                    self._rows.popitem(last=False)
        return [found[row] for row in rows]
