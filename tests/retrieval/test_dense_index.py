"""Dense index by size: exact below the limit, HNSW above, with tombstones for removals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.index.dense import DenseIndex, IdFilter
from retrieval.settings import RetrievalSettings
from tests.factories import SAMPLE_ARTICLES, make_article


def _unit(count: int, seed: int = 0, dim: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, dim)).astype(np.float32)
    unit: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return unit


def test_kind_follows_the_size_limit() -> None:
    vectors = _unit(300)
    ids = np.arange(300, dtype=np.int64)
    assert DenseIndex.build(ids, vectors, 32, exact_limit=300).kind == "flat"
    assert DenseIndex.build(ids, vectors, 32, exact_limit=299).kind == "hnsw"


def test_hnsw_finds_what_exact_finds_on_a_small_set() -> None:
    vectors = _unit(500)
    ids = np.arange(10, 510, dtype=np.int64)
    exact = DenseIndex.build(ids, vectors, 32, exact_limit=10_000)
    graph = DenseIndex.build(ids, vectors, 32, exact_limit=0)
    for query in vectors[:20]:
        assert set(graph.search(query, 10)[0]) == set(exact.search(query, 10)[0])


def test_updates_mask_removed_ids_and_leave_the_old_index_untouched(tmp_path: Path) -> None:
    vectors = _unit(400)
    ids = np.arange(400, dtype=np.int64)
    old = DenseIndex.build(ids, vectors, 32, exact_limit=0)
    live = np.setdiff1d(ids, [0, 1])
    new_vectors = _unit(1, seed=9)
    new = old.updated(
        removed_ids=np.array([0, 1]),
        added_ids=np.array([1000]),
        added_vectors=new_vectors,
        all_ids=np.concatenate([live, [1000]]),
        all_vectors=np.concatenate([vectors[2:], new_vectors]),
        exact_limit=0,
    )
    assert new.kind == "hnsw" and new.size == 399 and old.size == 400
    assert 0 not in new.search(vectors[0], 50)[0]
    assert old.search(vectors[0], 1)[0][0] == 0  # the previous snapshot still answers
    assert new.search(new_vectors[0], 1)[0][0] == 1000
    assert new.base_id == old.base_id and new.delta_size == 1  # the graph itself is shared
    base, changes = tmp_path / "dense.faiss", tmp_path / "changes.npz"
    new.save_base(base)
    new.save_changes(changes)
    loaded = DenseIndex.load(base, changes, 32, 399, base_id=new.base_id)
    assert loaded.kind == "hnsw" and 0 not in loaded.search(vectors[0], 50)[0]
    assert loaded.search(new_vectors[0], 1)[0][0] == 1000
    with pytest.raises(ValueError, match="expected 400x32"):
        DenseIndex.load(base, changes, 32, 400, base_id=new.base_id)


@pytest.mark.parametrize("exact_limit", [10_000, 0])
def test_delta_and_tombstones_search_like_a_fresh_build(exact_limit: int) -> None:
    """Adds go to an exact delta and removals to tombstones until the delta is merged; the
    answers match an index built from scratch on the live rows (exactly, for flat)."""
    vectors = _unit(600)
    ids = np.arange(600, dtype=np.int64)
    index = DenseIndex.build(ids[:300], vectors[:300], 32, exact_limit=exact_limit)
    live = list(range(300))
    for step, begin in enumerate(range(300, 600, 50)):
        gone = np.array([live.pop(0), live.pop(7)], dtype=np.int64)  # base and delta rows
        added = ids[begin : begin + 50]
        live += added.tolist()
        index = index.updated(
            removed_ids=gone,
            added_ids=added,
            added_vectors=vectors[added],
            all_ids=np.array(live),
            all_vectors=vectors[live],
            exact_limit=exact_limit,
        )
        assert index.size == len(live)
        if step == 0:
            base_id = index.base_id
    assert index.base_id == base_id and index.delta_size > 0  # no rebuild along the way
    fresh = DenseIndex.build(np.array(live), vectors[live], 32, exact_limit=10_000)
    for query in vectors[:40]:
        found, scores = index.search(query, 10)
        expected, expected_scores = fresh.search(query, 10)
        assert set(found) <= set(live)
        if exact_limit:
            assert found.tolist() == expected.tolist()
            assert np.allclose(scores, expected_scores, atol=1e-6)
        else:
            assert len(set(found) & set(expected)) >= 9


def test_a_delta_past_its_limit_is_merged_into_a_new_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("retrieval.index.dense.DELTA_LIMIT", 20)
    vectors = _unit(300)
    ids = np.arange(300, dtype=np.int64)
    old = DenseIndex.build(ids[:250], vectors[:250], 32, exact_limit=0)
    new = old.updated(
        removed_ids=np.zeros(0, dtype=np.int64),
        added_ids=ids[250:],
        added_vectors=vectors[250:],
        all_ids=ids,
        all_vectors=vectors,
        exact_limit=0,
    )
    assert new.kind == "hnsw" and new.delta_size == 0 and new.base_id != old.base_id
    assert new.size == 300 and old.size == 250
    assert new.search(vectors[299], 1)[0][0] == 299


def test_many_removals_rebuild_the_graph() -> None:
    vectors = _unit(200)
    ids = np.arange(200, dtype=np.int64)
    old = DenseIndex.build(ids, vectors, 32, exact_limit=0)
    gone = ids[:100]
    new = old.updated(
        removed_ids=gone,
        added_ids=np.zeros(0, dtype=np.int64),
        added_vectors=np.zeros((0, 32), dtype=np.float32),
        all_ids=ids[100:],
        all_vectors=vectors[100:],
        exact_limit=0,
    )
    assert new.size == 100 and not len(new._removed)  # rebuilt, no tombstones left


def test_engine_above_the_limit_adds_removes_and_reloads(settings: RetrievalSettings) -> None:
    settings = settings.model_copy(update={"dense_exact_limit": 2})
    engine = Engine(settings, HashingEmbedder()).open()
    engine.add(SAMPLE_ARTICLES)
    assert engine.snapshot.dense.kind == "hnsw"
    assert engine.search("queen bee eggs", mode="dense").hits[0].article_id == "bees"
    engine.remove("bees")
    engine.add([make_article("owls", "Owls at night", "Owls hunt mice at night in silence.")])
    hits = engine.search("owls hunting mice", mode="dense").hits
    assert hits[0].article_id == "owls"
    assert all(h.article_id != "bees" for h in engine.search("queen bee eggs", mode="dense").hits)
    reopened = Engine(settings, HashingEmbedder()).open()
    assert reopened.snapshot.dense.size == len(reopened.snapshot.chunks)
    assert reopened.search("owls hunting mice", mode="dense").hits[0].article_id == "owls"


def test_id_filters_from_rows_match_those_from_ids() -> None:
    rng = np.random.default_rng(5)
    for ids in (np.arange(10, 510, dtype=np.int64), np.sort(rng.choice(2000, 500, replace=False))):
        mask = rng.random(len(ids)) < 0.3
        from_rows = IdFilter.of_rows(ids, mask, int(mask.sum()))
        from_ids = IdFilter.of_ids(ids[mask])
        assert np.array_equal(from_rows.bitmap[: len(from_ids.bitmap)], from_ids.bitmap)
        assert not from_rows.bitmap[len(from_ids.bitmap) :].any()
        assert np.array_equal(from_rows.contains(ids), mask)
        assert not from_rows.contains(np.array([ids[-1] + 100], dtype=np.int64)).any()


@pytest.mark.parametrize("exact_limit", [10**6, 0])  # flat, HNSW
def test_a_filtered_search_returns_only_allowed_ids_and_fills_its_places(
    exact_limit: int,
) -> None:
    vectors = _unit(400)
    ids = np.arange(1, 401, dtype=np.int64)
    index = DenseIndex.build(ids[:300], vectors[:300], 32, exact_limit=exact_limit)
    added = vectors[300:]
    index = index.updated(
        removed_ids=np.zeros(0, dtype=np.int64),
        added_ids=ids[300:],
        added_vectors=added,
        all_ids=ids,
        all_vectors=vectors,
        exact_limit=exact_limit,
    )
    allowed = ids[(ids % 5 == 0)]  # a fifth, in the base and in the delta
    found, scores = index.search(vectors[9], 30, IdFilter.of_ids(allowed))
    assert len(found) == 30 and set(found.tolist()) <= set(allowed.tolist())
    exact = allowed[np.argsort(-(vectors[allowed - 1] @ vectors[9]))][:30]
    assert len(set(found.tolist()) & set(exact.tolist())) >= 27
    assert np.all(np.diff(scores) <= 1e-6)
