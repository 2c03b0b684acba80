"""Sentence matches from the per-snapshot cache equal those computed afresh, the cache
stays within its size, and overlapping excerpts highlight different sentences."""

from __future__ import annotations

import dataclasses

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.search.highlight import best_sentences
from retrieval.settings import RetrievalSettings
from retrieval.text.analyzer import Analyzer
from retrieval.text.passage_sentences import SentenceCache, split_sentences
from tests.factories import REUTERS, SAMPLE_ARTICLES, make_article

TEXT = REUTERS.read_text(encoding="utf-8")
# Passages of the Reuters article, overlapping and cut mid-word, plus one of only spaces.
PASSAGES = [(TEXT, s, min(s + 700, len(TEXT))) for s in range(0, len(TEXT), 350)]
PASSAGES += [(a.text, 0, len(a.text)) for a in SAMPLE_ARTICLES] + [("x   y", 1, 4)]


def _idf(token: str) -> float:
    return 1.0 + len(token) % 5  # any weights will do; distinct ones test the sums


def test_cached_matches_equal_uncached() -> None:
    analyzer = Analyzer()
    cache = SentenceCache()
    rows = list(range(len(PASSAGES)))
    for question in ("Kerry Moscow talks Syria", "queen eggs", "the", "Eurostar speed km"):
        tokens = analyzer.tokens([question])[0]
        fresh = best_sentences(split_sentences(PASSAGES, analyzer.tokens), tokens, _idf)
        # Rows asked for in a different order and twice: from the cache, then cached.
        for order in (rows[::-1], rows):
            cached = cache.get(order, PASSAGES.__getitem__, analyzer.tokens)
            assert best_sentences(cached, tokens, _idf) == [fresh[r] for r in order]


def test_every_passage_has_a_sentence_inside_it() -> None:
    for (_, start, end), sentences in zip(
        PASSAGES, split_sentences(PASSAGES, Analyzer().tokens), strict=True
    ):
        assert sentences.spans and len(sentences.spans) == len(sentences.words)
        assert all(start <= s < e <= end for s, e in sentences.spans)


def test_cache_keeps_the_most_recently_used_rows() -> None:
    analyzer = Analyzer()
    cache = SentenceCache(capacity=3)
    made: list[int] = []

    def passage(row: int) -> tuple[str, int, int]:
        made.append(row)
        return PASSAGES[row]

    cache.get([0, 1, 2], passage, analyzer.tokens)
    cache.get([0], passage, analyzer.tokens)  # 0 is now the most recent
    cache.get([3, 3], passage, analyzer.tokens)  # evicts 1, the least recent
    assert len(cache) == 3
    made.clear()
    cache.get([0, 2, 3, 1], passage, analyzer.tokens)
    assert made == [1]
    assert len(cache) == 3


def test_search_fills_the_snapshots_cache_and_a_new_snapshot_starts_empty(
    engine: Engine,
) -> None:
    engine.add(SAMPLE_ARTICLES[:2])
    cold = engine.search("How many eggs does the queen bee lay?", abstain=False)
    assert len(engine.snapshot.sentences) > 0
    warm = engine.search("How many eggs does the queen bee lay?", abstain=False)
    assert dataclasses.replace(warm, timings_ms={}) == dataclasses.replace(cold, timings_ms={})
    engine.add(SAMPLE_ARTICLES[2:])
    assert len(engine.snapshot.sentences) == 0
    assert len(dataclasses.replace(engine.snapshot).sentences) == 0


def test_overlapping_excerpts_highlight_different_sentences(settings: RetrievalSettings) -> None:
    """Two shown passages of one article that share their best sentence: the later one
    highlights its own next best sentence instead of repeating it."""
    sentences = [
        "Otters crack shellfish open with stones.",
        "Sea otters float on their backs in kelp beds.",
        "Otters use stones as tools to open shellfish every day.",
        "Young otters learn to use stones from their mothers.",
        "Otters keep a favourite stone in a skin pocket.",
        "Their dense fur keeps sea otters warm in cold water.",
    ]
    settings = settings.model_copy(
        update={"chunk_tokens": 32, "per_article_cap": 4, "abstain_threshold": 0.0}
    )
    engine = Engine(settings, HashingEmbedder()).open()
    engine.add([make_article("otters", "Otters", " ".join(sentences))])
    hits = engine.search("otters use stones to open shellfish", k=4).hits
    assert len({(h.start, h.end) for h in hits}) == len(hits) > 1
    assert len({h.highlight for h in hits}) == len(hits)
    for hit in hits:
        assert hit.excerpt[hit.highlight_start - hit.start :].startswith(hit.highlight)
