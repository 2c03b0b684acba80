from __future__ import annotations

import itertools

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.loaders import load_file
from retrieval.text.chunking import ChunkerSettings, chunk_article
from retrieval.text.sentences import sentence_spans
from tests.factories import REUTERS, make_article

COUNT = HashingEmbedder().count_tokens


def test_sentence_spans_keep_abbreviations_and_quotes_together() -> None:
    text = "U.S. Secretary John Kerry met Mr. Lavrov. “We made progress,” he said. Done!"
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == [
        "U.S. Secretary John Kerry met Mr. Lavrov.",
        "“We made progress,” he said.",
        "Done!",
    ]


def test_chunks_are_exact_slices_within_budget_and_overlap() -> None:
    [article] = load_file(REUTERS, max_bytes=1_000_000)
    settings = ChunkerSettings(max_tokens=60, overlap_tokens=15, model_window=256)
    chunks = chunk_article(article, settings, COUNT)
    assert len(chunks) > 5
    for i, chunk in enumerate(chunks):
        assert chunk.ordinal == i
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert COUNT([chunk.text])[0] <= 60
    # Consecutive chunks overlap (by whole sentences) and cover the whole article.
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))
    assert chunks[0].start == 0
    assert chunks[-1].end == len(article.text.rstrip())
    covered: set[int] = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    words = [i for i, ch in enumerate(article.text) if not ch.isspace()]
    assert all(i in covered for i in words)


def test_title_shares_the_model_window() -> None:
    article = make_article("a", "word " * 40, "Short sentence here. " * 40)
    settings = ChunkerSettings(max_tokens=500, overlap_tokens=0, model_window=60)
    for chunk in chunk_article(article, settings, COUNT):
        # 60 window - 2 special tokens - 40 title tokens - 2 separator allowance
        assert COUNT([chunk.text])[0] <= 16


def test_a_sentence_longer_than_the_budget_is_cut_at_words() -> None:
    text = " ".join(f"w{i}" for i in range(100)) + "."
    article = make_article("long", "", text)
    chunks = chunk_article(article, ChunkerSettings(20, 0, 256), COUNT)
    assert len(chunks) == 5
    assert all(article.text[c.start : c.end] == c.text for c in chunks)
    assert " ".join(c.text for c in chunks) == text


def test_overlap_larger_than_a_sentence_still_moves_forward() -> None:
    sentences = [" ".join(f"S{n}w{i}" for i in range(10)) + "." for n in range(5)]
    article = make_article("x", "", " ".join(sentences))
    chunks = chunk_article(article, ChunkerSettings(16, 16, 256), COUNT)
    assert [c.text for c in chunks] == sentences
