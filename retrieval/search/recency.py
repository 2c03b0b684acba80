"""Time in ranking: which rows a search may see, and newer evidence preferred among the
relevant.

Two preferences, measured against an article's relevance as a share of the best article's,
so that a fresh off-topic article never beats an on-topic one:
- freshness, for every question on dated articles: news questions are mostly about recent
  news, so an article published shortly before the question was asked counts a little more
  (relevance times 1 + `freshness_weight`, halving with `freshness_half_life_days` of age
  before the question): it decides between near-equal matches only;
- recency, for questions asking for the current state ("latest", "still", "now"): only the
  relevant articles (at least RELEVANT_SHARE of the best's relevance) get up to
  `recency_weight` added, halving with `recency_half_life_days` behind the newest relevant
  one (not behind the question, so an old story's latest article still wins when
  everything is old).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np

from retrieval.index.dense import IdFilter
from retrieval.index.snapshot import ChunkTable
from retrieval.search.params import TimeParams

_DAY_SECONDS = 86_400.0
# Articles with at least this share of the best article's relevance are "the relevant" ones
# a question for the latest compares by date; the others get no recency preference at all.
RELEVANT_SHARE = 0.6


class RowFilter:
    """The rows one search may return, in the forms the retrievers read (a mask for BM25,
    row numbers for an exact dense scan, chunk ids for FAISS), each made once per search."""

    def __init__(self, mask: np.ndarray, chunks: ChunkTable) -> None:
        self.mask = mask
        self._chunks = chunks

    @functools.cached_property
    def rows(self) -> np.ndarray:
        return np.flatnonzero(self.mask)

    @functools.cached_property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))

    @functools.cached_property
    def ids(self) -> IdFilter:
        return IdFilter.of_rows(self._chunks.ids, self.mask, self.count)

    def any(self) -> bool:
        return self.count > 0


def visible_rows(chunks: ChunkTable, time: TimeParams | None) -> RowFilter | None:
    """The rows a search may return, or None when it may return every row. In a window,
    undated articles are out (they cannot be shown to be inside it); answering as of a past
    moment, articles published after it are out and undated ones stay."""
    if time is None or (time.window is None and not time.hide_after_now) or not len(chunks):
        return None
    published = chunks.published_times()
    mask: np.ndarray | None = None
    if time.window:
        low, high = time.window.bounds()
        mask = published >= low
        mask &= published < high
    if time.hide_after_now:
        later = published > time.now.timestamp()
        if mask is None:
            mask = ~later
        else:
            mask &= ~later
    assert mask is not None
    return RowFilter(mask, chunks)


def time_weighted_order(
    article_scores: Mapping[str, float],
    published: Mapping[str, float],
    time: TimeParams,
) -> list[str] | None:
    """Articles by relevance and time (`published`: epoch seconds of the dated ones), best
    first; None when time changes nothing (no dated article among them, no weight, or no
    positive score to weigh)."""
    dated = {a: published[a] for a in article_scores if a in published}
    best = max(article_scores.values(), default=0.0)
    later_weight = time.recency_weight if time.recency else time.later_reports_weight
    if not dated or best <= 0 or not (later_weight > 0 or time.freshness_weight > 0):
        return None
    # Relevance as a share of the best article's: what the preferences are measured against.
    weighted = {a: score / best for a, score in article_scores.items()}
    now = time.now.timestamp()
    if time.freshness_weight > 0:
        for a, t in dated.items():
            if weighted[a] > 0:  # no evidence is not made evidence by its date
                age = max(0.0, now - t) / _DAY_SECONDS
                decay = 0.5 ** (age / time.freshness_half_life_days)
                weighted[a] *= 1.0 + time.freshness_weight * decay
    relevant_ids = [a for a, score in article_scores.items() if score >= RELEVANT_SHARE * best]
    # Dates can only order the relevant when they all have one: an undated article is of
    # unknown age, neither older nor newer than the others.
    if later_weight > 0 and all(a in dated for a in relevant_ids):
        relevant = {a: dated[a] for a in relevant_ids}
        newest = max(relevant.values(), default=None)
        for a, t in relevant.items():
            assert newest is not None
            behind = (newest - t) / _DAY_SECONDS
            # Added, not multiplied: the relevant are close enough to compare by date, and
            # a multiplier could not lift a fair match over a slightly better older one.
            weighted[a] += later_weight * 0.5 ** (behind / time.recency_half_life_days)
    return sorted(weighted, key=lambda a: (-weighted[a], a))


def best_per_article(
    rows: Sequence[int], scores: Mapping[int, float], article_of: Sequence[str]
) -> dict[str, float]:
    best: dict[str, float] = {}
    for row in rows:
        article = article_of[row]
        score = scores[row]
        if score > best.get(article, -np.inf):
            best[article] = score
    return best
