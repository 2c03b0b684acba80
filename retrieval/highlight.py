"""Which sentence of an excerpt answers the question: lexical overlap weighted by IDF.

Also a ranking signal: a passage with one sentence that holds most of the question's rare
words is a better citation than one that spreads them thin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.sentences import sentence_spans

TokenFn = Callable[[Sequence[str]], list[list[str]]]


@dataclass(frozen=True)
class SentenceMatch:
    start: int  # in article coordinates
    end: int
    share: float  # IDF mass of the question found in this sentence, 0..1


def best_sentences(
    passages: Sequence[tuple[str, int, int]],
    query_tokens: Sequence[str],
    tokenize: TokenFn,
    idf: Callable[[str], float],
) -> list[SentenceMatch]:
    """For each (text, start, end) passage, its sentence sharing the most IDF-weighted terms
    with the question (the first sentence when none shares any). One tokenizer call for all."""
    wanted = set(query_tokens)
    total = sum(idf(t) for t in wanted)
    spans_per = [
        sentence_spans(text, start, end) or [(start, end)] for text, start, end in passages
    ]
    flat = [
        text[s:e] for (text, _, _), spans in zip(passages, spans_per, strict=True) for s, e in spans
    ]
    tokens = tokenize(flat) if wanted and flat else [[] for _ in flat]
    matches: list[SentenceMatch] = []
    cursor = 0
    for spans in spans_per:
        best, best_score = spans[0], 0.0
        for span in spans:
            score = sum(idf(t) for t in wanted.intersection(tokens[cursor]))
            cursor += 1
            if score > best_score:
                best, best_score = span, score
        matches.append(SentenceMatch(best[0], best[1], best_score / total if total else 0.0))
    return matches
