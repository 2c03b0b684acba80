"""Which sentence of an excerpt answers the question: cheap lexical overlap weighted by IDF."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from retrieval.sentences import sentence_spans

TokenFn = Callable[[Sequence[str]], list[list[str]]]


def best_sentence(
    text: str,
    start: int,
    end: int,
    query_tokens: Sequence[str],
    tokenize: TokenFn,
    idf: Callable[[str], float],
) -> tuple[int, int]:
    """Span (in `text` coordinates) of the sentence in text[start:end] sharing the most
    IDF-weighted terms with the question; the first sentence when none shares any."""
    spans = sentence_spans(text, start, end)
    if not spans:
        return start, end
    wanted = set(query_tokens)
    if not wanted:
        return spans[0]
    sentence_tokens = tokenize([text[s:e] for s, e in spans])
    best, best_score = spans[0], 0.0
    for span, tokens in zip(spans, sentence_tokens, strict=True):
        score = sum(idf(t) for t in wanted.intersection(tokens))
        if score > best_score:
            best, best_score = span, score
    return best
