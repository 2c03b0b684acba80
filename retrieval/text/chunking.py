"""Sentence-aware chunks sized in the model's word pieces, with overlap and exact spans."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.documents import Article, Chunk
from retrieval.text.sentences import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]

# Bump when chunk boundaries would change for the same settings: the manifest records it.
CHUNKER_VERSION = 1
_WORD_SPAN = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkerSettings:
    max_tokens: int
    overlap_tokens: int
    model_window: int  # the encoder's window incl. special tokens; chunks + title must fit

    def as_manifest(self) -> dict[str, int]:
        return {
            "chunker_version": CHUNKER_VERSION,
            "chunk_tokens": self.max_tokens,
            "chunk_overlap_tokens": self.overlap_tokens,
        }


def embedding_text(title: str, chunk_text: str) -> str:
    """What gets encoded and BM25-indexed: the title makes every chunk findable by topic."""
    return f"{title}\n\n{chunk_text}" if title else chunk_text


def chunk_article(
    article: Article, settings: ChunkerSettings, count_tokens: TokenCounter
) -> list[Chunk]:
    text = article.text
    title_tokens = count_tokens([article.title])[0] + 2 if article.title else 0
    # 2 for [CLS]/[SEP]; the title is prepended for encoding, so it takes part of the window.
    budget = max(16, min(settings.max_tokens, settings.model_window - 2 - title_tokens))
    overlap = min(settings.overlap_tokens, budget // 2)

    pieces = _pieces(text, budget, count_tokens)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        used = 0
        j = i
        while j < len(pieces) and (j == i or used + pieces[j][2] <= budget):
            used += pieces[j][2]
            j += 1
        start, end = pieces[i][0], pieces[j - 1][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, text[start:end]))
        if j >= len(pieces):
            break
        # Step back over whole sentences worth at most `overlap` tokens, always moving forward.
        back, carried = j, 0
        while back - 1 > i and carried + pieces[back - 1][2] <= overlap:
            back -= 1
            carried += pieces[back][2]
        i = back
    return chunks


def _pieces(text: str, budget: int, count_tokens: TokenCounter) -> list[tuple[int, int, int]]:
    """(start, end, tokens) of sentences; sentences over budget are cut at word boundaries."""
    spans = sentence_spans(text)
    counts = count_tokens([text[s:e] for s, e in spans])
    pieces: list[tuple[int, int, int]] = []
    for (start, end), tokens in zip(spans, counts, strict=True):
        if tokens <= budget:
            pieces.append((start, end, tokens))
        else:
            pieces.extend(_split_long(text, start, end, budget, count_tokens))
    return pieces


def _split_long(
    text: str, start: int, end: int, budget: int, count_tokens: TokenCounter
) -> list[tuple[int, int, int]]:
    words = [(m.start() + start, m.end() + start) for m in _WORD_SPAN.finditer(text[start:end])]
    word_tokens = count_tokens([text[s:e] for s, e in words])
    out: list[tuple[int, int, int]] = []
    piece_start, used = words[0][0], 0
    prev_end = words[0][1]
    for (w_start, w_end), tokens in zip(words, word_tokens, strict=True):
        if used and used + tokens > budget:
            out.append((piece_start, prev_end, used))
            piece_start, used = w_start, 0
        used += tokens
        prev_end = w_end
    out.append((piece_start, prev_end, used))
    return out
