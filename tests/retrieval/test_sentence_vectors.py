"""Single sentences' vectors: written with their article, read back for the rerank, gone with
it, and ignored (never wrong) when the snapshot and the database disagree."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import IndexMismatchError
from retrieval.index.sentence_vectors import PassageRef, SentenceVectors, StoredSentenceVectors
from retrieval.index.snapshot import Snapshot
from retrieval.search.pipeline import SearchParams, search_snapshot
from retrieval.settings import RetrievalSettings
from retrieval.text.sentences import sentence_spans
from tests.factories import SAMPLE_ARTICLES, make_article

FILLER = "The committee met again on Tuesday to review the schedule. " * 6
ZEBRA = "Zebra migration crosses the Mara river every July."
ZEBRA_QUESTION = "zebra migration mara river"
NOTES = make_article(
    "notes",
    "Notes",
    f"{FILLER}\n\n{ZEBRA}\n\n{FILLER}\n\nThe ferry timetable changed in spring.\n\n{FILLER}",
)


def _rows(connection: sqlite3.Connection, query: str) -> list[tuple[object, ...]]:
    return connection.execute(query).fetchall()


def test_sentences_of_multi_passage_articles_are_stored_and_read_back(
    engine: Engine, embedder: HashingEmbedder
) -> None:
    report = engine.add([NOTES, *SAMPLE_ARTICLES])
    snapshot = engine.snapshot
    assert sum(1 for a in snapshot.chunks.article_ids if a == "notes") > 1
    with sqlite3.connect(engine.store.path) as conn:
        stored = _rows(conn, "SELECT article_id, start, end FROM sentences ORDER BY start")
    # Only the article with several passages has a choice to make, so only its sentences.
    assert {row[0] for row in stored} == {"notes"}
    assert [(s, e) for _, s, e in stored] == sentence_spans(NOTES.text)
    assert report.sentences_encoded == len(
        set(NOTES.text[s:e] for s, e in sentence_spans(NOTES.text))
    )
    assert "sentences encoded" in report.summary()

    rows = [r for r in range(len(snapshot.chunks)) if snapshot.chunks.article_ids[r] == "notes"]
    sentence_vectors = cast(SentenceVectors, snapshot.sentence_vectors)
    within = sentence_vectors.within([snapshot.passage_ref(r) for r in rows])
    for row, vectors in zip(rows, within, strict=True):
        text, start, end = snapshot.passage(row)
        expected = [text[s:e] for s, e in sentence_spans(NOTES.text) if s >= start and e <= end]
        assert len(vectors) == len(expected) > 0
        assert np.allclose(vectors, embedder.encode(expected))


def test_the_closest_sentence_chooses_the_passage_quoted(
    engine: Engine, embedder: HashingEmbedder
) -> None:
    engine.add([NOTES])
    snapshot = engine.snapshot
    question = ZEBRA_QUESTION
    vector = embedder.encode_query(question)
    rows = list(range(len(snapshot.chunks)))
    holding = [r for r in rows if ZEBRA in snapshot.chunk_text(r)]
    cosines = snapshot.closest_sentence_cosines(rows, vector)
    assert rows[int(np.argmax(cosines))] in holding

    # Only the cosine decides here: no lexical sentence evidence.
    params = dataclasses.replace(
        SearchParams.from_settings(engine.settings, k=3, abstain=False),
        sentence_weight=0.0,
        sentence_cosine_weight=0.5,
    )

    with_cosine = _excerpts(engine, snapshot, question, params)
    assert ZEBRA in with_cosine[0]
    # Without sentence vectors the same settings rank as before they existed.
    plain = _excerpts(
        engine, dataclasses.replace(snapshot, sentence_vectors=None), question, params
    )
    no_weight = dataclasses.replace(params, sentence_cosine_weight=0.0)
    assert plain == _excerpts(engine, snapshot, question, no_weight)


def _excerpts(engine: Engine, snapshot: Snapshot, question: str, params: SearchParams) -> list[str]:
    result = search_snapshot(
        snapshot,
        question,
        params,
        encode_query=engine.embedder.encode_query,
        analyzer=engine._analyzer,
    )
    return [h.excerpt for h in result.hits]


class _PointingAt:
    """Sentence vectors that make one passage's closest sentence the question itself."""

    def __init__(self, passage: PassageRef, question_vector: np.ndarray) -> None:
        self.passage = passage
        self.question_vector = question_vector

    def within(self, passages: Sequence[PassageRef]) -> list[np.ndarray]:
        far = np.zeros((1, len(self.question_vector)), dtype=np.float32)
        return [self.question_vector[None, :] if p == self.passage else far for p in passages]

    def spans_within(self, passages: Sequence[PassageRef]) -> list[tuple[np.ndarray, np.ndarray]]:
        # No real sentence's span: the bold sentence is chosen on words alone here.
        return [(np.zeros((len(v), 2), dtype=np.int64), v) for v in self.within(passages)]


def test_the_cosine_weight_alone_decides_between_passages(
    engine: Engine, embedder: HashingEmbedder
) -> None:
    engine.add([NOTES])
    snapshot = engine.snapshot
    question = ZEBRA_QUESTION
    vector = embedder.encode_query(question)
    ferry = next(r for r in range(len(snapshot.chunks)) if "ferry" in snapshot.chunk_text(r))
    assert ZEBRA not in snapshot.chunk_text(ferry)
    pointed = dataclasses.replace(
        snapshot, sentence_vectors=_PointingAt(snapshot.passage_ref(ferry), vector)
    )
    base = SearchParams.from_settings(engine.settings, k=3, abstain=False)

    def first(weight: float) -> str:
        params = dataclasses.replace(base, sentence_weight=0.0, sentence_cosine_weight=weight)
        return _excerpts(engine, pointed, question, params)[0]

    assert ZEBRA in first(0.0)  # fusion alone quotes the passage with the words
    assert first(5.0) == snapshot.chunk_text(ferry)  # the closest sentence decides


def test_removed_and_replaced_articles_take_their_sentences_along(
    engine: Engine, embedder: HashingEmbedder
) -> None:
    engine.add([NOTES, *SAMPLE_ARTICLES])
    old = engine.snapshot
    old_refs = [
        old.passage_ref(r) for r in range(len(old.chunks)) if old.chunks.article_ids[r] == "notes"
    ]
    changed = make_article("notes", "Notes", NOTES.text.replace("July", "August"))
    engine.add([changed])
    # A search still running on the old snapshot gets no sentences of the new text.
    old_vectors = cast(SentenceVectors, old.sentence_vectors)
    assert all(len(v) == 0 for v in old_vectors.within(old_refs))
    new = engine.snapshot
    new_refs = [new.passage_ref(r) for r, a in enumerate(new.chunks.article_ids) if a == "notes"]
    new_vectors = cast(SentenceVectors, new.sentence_vectors)
    assert all(len(v) for v in new_vectors.within(new_refs))

    engine.remove("notes")
    with sqlite3.connect(engine.store.path) as conn:
        assert _rows(conn, "SELECT COUNT(*) FROM sentences") == [(0,)]
        used = _rows(conn, "SELECT COUNT(*) FROM chunks")[0][0]
        cached = _rows(conn, "SELECT COUNT(*) FROM embeddings")[0][0]
    # No vector is left that no chunk or sentence uses.
    assert cached == used == len(engine.snapshot.chunks)


def test_unchanged_sentences_are_not_encoded_again(
    engine: Engine, embedder: HashingEmbedder
) -> None:
    engine.add([NOTES])
    first = embedder.texts_encoded
    changed = make_article("notes", "Notes", NOTES.text + "\n\nA new closing line was added.")
    report = engine.add([changed])
    # The new sentence, plus passages whose text changed; every other sentence was cached.
    assert report.sentences_encoded == 1
    assert embedder.texts_encoded == first + report.chunks_encoded + 1


def test_a_missing_database_means_no_sentences_not_an_error(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    engine.add([NOTES])
    gone = engine.store.path.parent / "gone.sqlite3"
    source = StoredSentenceVectors(gone, engine.embedder.dimension)
    with caplog.at_level(logging.WARNING):
        found = source.within([PassageRef("notes", NOTES.content_hash, 0, len(NOTES.text))])
    assert [len(v) for v in found] == [0]
    assert "sentence vectors unavailable" in caplog.text
    assert not gone.exists()  # a vanished database is not created again


def test_turning_sentence_vectors_off_needs_a_full_rebuild(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    Engine(settings, embedder).open().add([NOTES])
    off = settings.model_copy(update={"sentence_vectors": False})
    with pytest.raises(IndexMismatchError, match="sentence_vectors"):
        Engine(off, embedder).open()
    engine = Engine(off, embedder)
    report = engine.rebuild_full([NOTES])
    assert report.sentences_encoded == 0
    assert engine.snapshot.sentence_vectors is None
    assert engine.search("zebra migration").hits
