"""BM25 changes without rebuilding: delta segments, tombstones, compaction, persistence."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.index import bm25 as bm25_module
from retrieval.index import derived
from retrieval.index.bm25 import LexicalIndex
from retrieval.index.bm25_files import load_bm25, save_bm25
from retrieval.index.dense import DenseIndex
from retrieval.settings import RetrievalSettings
from retrieval.text.analyzer import Analyzer
from tests.reliability import corpus

WORDS = [f"w{i}" for i in range(300)]
NO_ROWS = np.zeros(0, dtype=np.int64)


def _rows(count: int, seed: int) -> list[list[str]]:
    """Token rows of varied length with a skewed word distribution (like real text)."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]
    return [rng.choices(WORDS, weights, k=rng.randint(5, 40)) for _ in range(count)]


QUERIES = [["w0"], ["w3", "w17"], ["w42", "w42", "w7"], ["w250", "w1", "w99"], ["new0"]]


def _assert_scores(
    index: LexicalIndex, rows: Sequence[Sequence[str]], *, exact: bool = False
) -> None:
    """Same results as a from-scratch bm25s build of `rows`."""
    fresh = LexicalIndex.build(rows)
    assert index.size == fresh.size == len(rows)
    assert dict(index.doc_freq) == dict(fresh.doc_freq)
    for query in [*QUERIES, *([t] for t in list(fresh.doc_freq)[:40])]:
        got, want = index.scores(query), fresh.scores(query)
        assert (got is None) == (want is None), query
        if got is None or want is None:
            continue
        assert got.shape == (len(rows),)
        if exact:
            assert np.array_equal(got, want), query
        else:
            assert np.allclose(got, want, rtol=1e-5, atol=1e-6), query
        assert index.max_score(query) == pytest.approx(fresh.max_score(query))
        assert index.idf(query[0]) == pytest.approx(fresh.idf(query[0]))


def _changed(
    index: LexicalIndex,
    live: list[list[str]],
    *,
    remove: Sequence[int] = (),
    add: Sequence[list[str]] = (),
) -> tuple[LexicalIndex, list[list[str]]]:
    removed = sorted(remove)
    index = index.updated(np.array(removed, dtype=np.int64), [live[i] for i in removed], add)
    gone = set(removed)
    return index, [row for i, row in enumerate(live) if i not in gone] + list(add)


def _random_changes(seed: int, steps: int = 30) -> tuple[LexicalIndex, list[list[str]]]:
    rng = random.Random(seed)
    rows = _rows(400, seed)
    extra = _rows(steps * 5, seed + 1)
    extra[3] = []  # an empty chunk (bm25s still gives it a row)
    extra[4] = ["new0", "w1"]  # a word the main segment has never seen
    index, live = LexicalIndex.build(rows), list(rows)
    for step in range(steps):
        remove = rng.sample(range(len(live)), rng.randint(0, 3))
        index, live = _changed(index, live, remove=remove, add=extra[step * 5 : step * 5 + 5])
    return index, live


def test_scores_while_changes_are_pending_match_a_fresh_build() -> None:
    index, live = _random_changes(seed=1)
    assert index.pending_rows > 0
    _assert_scores(index, live)


def test_compaction_gives_exactly_the_fresh_build() -> None:
    index, live = _random_changes(seed=2)
    compacted = index.compacted()
    assert compacted is not None
    assert compacted.pending_rows == 0
    _assert_scores(compacted, live, exact=True)
    # and it takes further changes like any index
    more, live = _changed(compacted, live, remove=[0, 5], add=_rows(3, 9))
    _assert_scores(more, live)


def test_add_then_remove_round_trips() -> None:
    rows = _rows(200, 3)
    index = LexicalIndex.build(rows)
    added, live = _changed(index, list(rows), add=[["new0", "w1"], ["w2", "new0", "new0"]])
    assert "new0" in added.doc_freq
    assert added.search(["new0"], 5)[0].tolist() == [201, 200]
    back, live = _changed(added, live, remove=[200, 201])
    assert live == rows
    assert "new0" not in back.doc_freq
    _assert_scores(back, rows)


def test_removed_rows_are_never_returned() -> None:
    rows = _rows(100, 4)
    rows[10] = ["only10", *rows[10]]
    rows[50] = ["only50", *rows[50]]
    index, live = _changed(LexicalIndex.build(rows), list(rows), remove=[10])
    assert "only10" not in index.doc_freq
    assert index.scores(["only10"]) is None
    rows_found, _ = index.search(["only50", "w0"], 200)
    assert len(rows_found) and rows_found.max() < index.size
    assert live[int(index.search(["only50"], 1)[0][0])][0] == "only50"  # rows shifted down


def test_compaction_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bm25_module, "SMALL_INDEX_ROWS", 10)
    monkeypatch.setattr(bm25_module, "MIN_PENDING_ROWS", 20)
    monkeypatch.setattr(bm25_module, "PENDING_SHARE", 0.1)
    rows = _rows(400, 5)  # limit: max(20, 0.1 x 400) = 40 changed rows
    index, live = LexicalIndex.build(rows), list(rows)
    assert not index.wants_compaction()
    index, live = _changed(index, live, add=_rows(35, 6))
    index, live = _changed(index, live, remove=[0, 1, 2, 3, 4])
    assert index.pending_rows == 40 and not index.wants_compaction()
    index, live = _changed(index, live, remove=[7])
    assert index.wants_compaction()
    small, _ = _changed(LexicalIndex.build(rows[:8]), list(rows[:8]), add=_rows(1, 7))
    assert small.wants_compaction()  # small indexes are cheaper to compact every time


def test_save_and_load_with_pending_changes(tmp_path: Path) -> None:
    index, live = _random_changes(seed=6)
    save_bm25(index, tmp_path / "bm25")
    loaded = load_bm25(tmp_path / "bm25", index.size)
    assert loaded.pending_rows == index.pending_rows
    _assert_scores(loaded, live)
    for query in QUERIES:
        got, want = loaded.scores(query), index.scores(query)
        assert got is not None and want is not None
        assert np.array_equal(got, want)
    with pytest.raises(ValueError):
        load_bm25(tmp_path / "bm25", index.size + 1)


def _dense(rows: int) -> DenseIndex:
    vectors = np.random.default_rng(rows).standard_normal((rows, 4)).astype(np.float32)
    return DenseIndex.build(np.arange(1, rows + 1, dtype=np.int64), vectors, 4)


def test_derived_save_writes_only_the_changed_parts(tmp_path: Path) -> None:
    rows = _rows(300, 7)
    index = LexicalIndex.build(rows)
    derived.save_derived(tmp_path, 1, 300, _dense(300), index)
    [main] = tmp_path.glob("bm25-*")
    main_files = {p.name: p.stat().st_mtime_ns for p in main.iterdir()}
    changed, live = _changed(index, list(rows), remove=[3], add=_rows(4, 8))
    derived.save_derived(tmp_path, 2, 303, _dense(303), changed)
    assert {p.name: p.stat().st_mtime_ns for p in main.iterdir()} == main_files  # not rewritten
    loaded = derived.load_derived(tmp_path, 2, 303, 4)
    assert loaded is not None
    _assert_scores(loaded[1], live)
    compacted = changed.compacted()
    assert compacted is not None
    derived.save_derived(tmp_path, 3, 303, _dense(303), compacted)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("bm25"))
    assert len(names) == 1 and names[0] != main.name  # delta and old main cleaned up
    again = derived.load_derived(tmp_path, 3, 303, 4)
    assert again is not None
    _assert_scores(again[1], live, exact=True)


def test_a_bare_bm25s_folder_still_loads_and_is_rebuilt_on_change(tmp_path: Path) -> None:
    rows = _rows(50, 9)
    index = LexicalIndex.build(rows)
    assert index._model is not None
    index._model.save(str(tmp_path), allow_pickle=False, show_progress=False)  # older format
    old = load_bm25(tmp_path, 50)
    assert not old.can_update
    _assert_scores(old, rows, exact=True)


def test_unreadable_main_scores_are_reported_not_compacted() -> None:
    index, _ = _changed(LexicalIndex.build(_rows(50, 10)), _rows(50, 10), add=_rows(2, 11))
    index._main.data[0] *= np.float32(1.01)  # not what bm25s would have stored
    assert index.compacted() is None


# -- through the engine --------------------------------------------------------------------


@pytest.fixture
def delta_engine(
    settings: RetrievalSettings, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    """An engine whose BM25 keeps changes as a delta (as it does above a few thousand rows)."""
    monkeypatch.setattr(bm25_module, "SMALL_INDEX_ROWS", 0)
    monkeypatch.setattr(bm25_module, "MIN_PENDING_ROWS", 10_000)
    engine = Engine(settings, embedder).open()
    engine.add([corpus.article(n) for n in range(30)])
    return engine


def _bm25_top(engine: Engine, number: int) -> str | None:
    hits = engine.search(corpus.question(number), mode="bm25", abstain=False).hits
    return hits[0].article_id if hits else None


def test_engine_add_is_searchable_and_survives_a_reopen(
    delta_engine: Engine,
    settings: RetrievalSettings,
    embedder: HashingEmbedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    delta_engine.add([corpus.article(30)])
    lexical = delta_engine.snapshot.lexical
    assert lexical.pending_rows == len(delta_engine.snapshot.chunks)  # all in the delta
    assert _bm25_top(delta_engine, 30) == corpus.article_id(30)
    delta_engine.remove(corpus.article_id(5))
    assert delta_engine.snapshot.lexical.size == len(delta_engine.snapshot.chunks)
    hits = delta_engine.search(corpus.question(5), mode="bm25", abstain=False, k=50).hits
    assert corpus.article_id(5) not in {h.article_id for h in hits}
    answers = [delta_engine.search(corpus.question(n)).as_json() for n in (3, 30)]
    with caplog.at_level(logging.INFO, logger="retrieval"):
        reopened = Engine(settings, embedder).open()
    assert "from SQLite" not in caplog.text  # the saved delta loaded
    assert reopened.snapshot.lexical.pending_rows == delta_engine.snapshot.lexical.pending_rows
    assert [reopened.search(corpus.question(n)).as_json() for n in (3, 30)] == answers
    reopened.add([corpus.article(31)])  # a reopened delta takes more changes
    assert _bm25_top(reopened, 31) == corpus.article_id(31)


def test_engine_compacts_when_changes_add_up(
    delta_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    delta_engine.add([corpus.article(30)])
    pending = delta_engine.snapshot.lexical.pending_rows
    monkeypatch.setattr(bm25_module, "MIN_PENDING_ROWS", pending)  # one more row compacts
    assert not delta_engine.snapshot.lexical.wants_compaction()
    delta_engine.add([corpus.article(31), corpus.article(32)])
    snapshot = delta_engine.snapshot
    assert snapshot.lexical.pending_rows == 0
    assert _bm25_top(delta_engine, 32) == corpus.article_id(32)
    texts = snapshot.embedding_texts(range(len(snapshot.chunks)))
    _assert_scores(snapshot.lexical, Analyzer().tokens(texts), exact=True)


def test_removed_tokens_that_do_not_match_are_refused() -> None:
    rows = _rows(30, 12)
    index = LexicalIndex.build(rows)
    with pytest.raises(ValueError):
        index.updated(np.array([2]), [[*rows[2], "w0"]], [])
