"""Adds append vectors in place (no copy of the collection), never into rows an older or a
sibling snapshot reads."""

from __future__ import annotations

import numpy as np

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.index.snapshot import RowBuffer
from retrieval.settings import RetrievalSettings
from tests.factories import SAMPLE_ARTICLES, make_article


def _rows(count: int, value: float) -> np.ndarray:
    return np.full((count, 4), value, dtype=np.float32)


def test_appends_share_storage_and_leave_older_views_alone() -> None:
    first, buffer = RowBuffer(_rows(3, 1.0)).append(_rows(3, 1.0), _rows(2, 2.0))
    second, same = buffer.append(first, _rows(2, 3.0))
    assert same is buffer and np.shares_memory(first, second)  # no copy
    assert first.shape == (5, 4) and (first[3:] == 2.0).all()
    assert (second[5:] == 3.0).all() and (second[:5] == first).all()


def test_a_second_child_of_one_snapshot_copies_instead_of_overwriting() -> None:
    base, buffer = RowBuffer(_rows(3, 1.0)).append(_rows(3, 1.0), _rows(1, 2.0))
    child, _ = buffer.append(base, _rows(2, 3.0))
    sibling, other = buffer.append(base, _rows(2, 4.0))
    assert other is not buffer and not np.shares_memory(child, sibling)
    assert (child[4:] == 3.0).all() and (sibling[4:] == 4.0).all()


def test_engine_adds_reuse_the_vector_storage(settings: RetrievalSettings) -> None:
    engine = Engine(settings, HashingEmbedder()).open()
    engine.add(SAMPLE_ARTICLES[:2])
    engine.add(SAMPLE_ARTICLES[2:])
    before = engine.snapshot
    engine.add([make_article("owls", "Owls at night", "Owls hunt mice at night in silence.")])
    after = engine.snapshot
    assert np.shares_memory(before.vectors, after.vectors)
    assert np.array_equal(after.vectors[: len(before.vectors)], before.vectors)
    assert engine.search("owls hunting mice", mode="dense").hits[0].article_id == "owls"
    engine.remove("owls")  # a removal compacts into a new array; older snapshots unchanged
    assert not np.shares_memory(engine.snapshot.vectors, after.vectors)
    assert engine.search("queen bee eggs", mode="dense").hits[0].article_id == "bees"
