"""A passage's sentences with their analyzed words, and the per-snapshot cache of them:
what the highlight and the sentence rerank look at."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.text.sentences import sentence_spans

TokenFn = Callable[[Sequence[str]], list[list[str]]]
# Passages whose sentences a snapshot keeps analyzed (~3 KB each, so ~12 MB at most):
# splitting and tokenizing is most of a question's rerank, and the same passages come up
# for question after question.
SENTENCE_CACHE_ROWS = 4096


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
