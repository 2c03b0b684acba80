"""Which sentence of an excerpt answers the question: lexical overlap weighted by IDF.

Also a ranking signal: a passage with one sentence that holds most of the question's rare
words is a better citation than one that spreads them thin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.text.passage_sentences import Sentences


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
