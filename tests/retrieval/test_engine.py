from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import (
    ArticleNotFoundError,
    EmptyQuestionError,
    IndexMismatchError,
    IndexMissingError,
    QuestionTooLongError,
)
from retrieval.index import location
from retrieval.index.home import home_for
from retrieval.settings import RetrievalSettings
from tests.factories import SAMPLE_ARTICLES, make_article
from tests.retrieval.backends import BACKENDS, on_backend


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, settings: RetrievalSettings) -> RetrievalSettings:
    return on_backend(request, settings)


def test_search_cites_the_matching_article_with_exact_spans(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("How many eggs does the queen bee lay?")
    assert not result.abstained
    top = result.hits[0]
    assert top.article_id == "bees"
    article = engine.get_article("bees")
    assert article is not None
    assert article.text[top.start : top.end] == top.excerpt
    assert article.text[top.highlight_start : top.highlight_end] == top.highlight
    assert "eggs" in top.highlight
    assert top.dense_score is not None and top.bm25_score is not None
    assert top.title == "The life of honey bees"


def test_hits_carry_metadata_and_json_shape(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("Eurostar Channel Tunnel speed", k=2)
    hit = result.hits[0]
    assert (hit.article_id, hit.published, hit.source) == (
        "trains",
        dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        "Rail Review",
    )
    data = result.as_json()
    assert set(data) >= {"question", "abstained", "hits", "nearest"}
    assert set(data["hits"][0]) >= {
        "article_id",
        "title",
        "url",
        "published",
        "excerpt",
        "start",
        "end",
        "score",
        "highlight",
    }


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_every_mode_finds_the_article(engine: Engine, mode: str) -> None:
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("volcano magma eruption", mode=mode)  # type: ignore[arg-type]
    assert result.mode == mode
    assert result.hits[0].article_id == "volcanoes"
    if mode == "dense":
        assert result.hits[0].bm25_score is None
    if mode == "bm25":
        assert result.hits[0].dense_score is None


def test_abstains_with_nearest_titles_when_nothing_matches(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine = Engine(settings.model_copy(update={"abstain_threshold": 0.5}), embedder).open()
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("quantum chromodynamics lattice gauge")
    assert result.abstained and result.hits == []
    assert len(result.nearest) <= 3
    assert not engine.search("quantum", abstain=False).abstained


def test_empty_index_abstains(engine: Engine) -> None:
    result = engine.search("anything at all?")
    assert result.abstained and result.nearest == []


@pytest.mark.parametrize("question", ["", "   ", "?!?", "🙂🙂"])
def test_questions_without_words_are_refused(engine: Engine, question: str) -> None:
    with pytest.raises(EmptyQuestionError):
        engine.search(question)


def test_a_question_is_put_on_one_line_and_refused_over_the_limit(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    """One rule for the CLI, the chat and the bot: NEWSDESK_MAX_QUESTION_CHARS, counted once
    runs of spaces are squeezed; a longer question is refused, never cut."""
    engine = Engine(settings.model_copy(update={"max_question_chars": 20}), embedder).open()
    assert engine.check_question("  what \n is \t oxygen? ") == "what is oxygen?"
    assert engine.check_question("x" * 10 + " \n " * 50 + "y" * 9) == "x" * 10 + " " + "y" * 9
    with pytest.raises(QuestionTooLongError, match="under 20 characters") as info:
        engine.search("x" * 21)
    assert info.value.limit == 20
    assert engine.search("queen bee " * 2).question == "queen bee queen bee"


def test_opening_a_missing_index_without_creating_it_names_the_command(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    with pytest.raises(IndexMissingError) as info:
        Engine(settings, embedder).open(create=False)
    where = home_for(settings).describe()  # the folder, or the database and collection
    assert str(info.value) == f"no index in {where}; run `newsdesk index rebuild`"


def test_per_article_cap_and_paging(settings: RetrievalSettings, embedder: HashingEmbedder) -> None:
    long_text = " ".join(f"Sentence {i} about bees and honey and hives." for i in range(80))
    settings = settings.model_copy(update={"per_article_cap": 2, "top_k": 3})
    engine = Engine(settings, embedder).open()
    engine.add([make_article("hive", "Hives", long_text), *SAMPLE_ARTICLES])
    first = engine.search("bees honey hives")
    assert [h.article_id for h in first.hits].count("hive") == 2
    assert first.has_more
    second = engine.search("bees honey hives", offset=3, abstain=False)
    shown = {h.chunk_id for h in first.hits}
    assert not shown & {h.chunk_id for h in second.hits}


def test_incremental_update_encodes_only_changed_chunks(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine = Engine(settings, embedder).open()
    report = engine.sync(SAMPLE_ARTICLES, remove_missing=True)
    assert sorted(report.added) == ["bees", "trains", "volcanoes"]
    total = embedder.texts_encoded
    assert total == report.chunks_encoded + report.sentences_encoded > 0

    again = engine.sync(SAMPLE_ARTICLES, remove_missing=True)
    assert (again.unchanged, again.chunks_encoded, embedder.texts_encoded) == (3, 0, total)

    bees = SAMPLE_ARTICLES[1]
    changed = make_article(bees.id, bees.title, bees.text + "\n\nDrones do not sting at all.")
    third = engine.sync([SAMPLE_ARTICLES[0], changed, SAMPLE_ARTICLES[2]], remove_missing=True)
    assert third.changed == ["bees"] and third.unchanged == 2
    # Only the chunks whose text changed were encoded again; the cache served the rest.
    assert 0 < third.chunks_encoded < len(engine.search("bees", k=50, abstain=False).hits) + 2
    assert embedder.texts_encoded == total + third.chunks_encoded + third.sentences_encoded
    assert "Drones do not sting" in " ".join(
        h.excerpt for h in engine.search("do drones sting?", k=3).hits
    )


def test_remove_drops_the_article_from_every_index(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    removed = engine.remove("bees")
    assert removed.title == "The life of honey bees"
    snapshot = engine.snapshot
    assert "bees" not in snapshot.chunks.article_ids
    assert snapshot.dense.size == len(snapshot.chunks) == snapshot.lexical.size
    assert "bee" not in snapshot.lexical.doc_freq  # BM25 vocabulary rebuilt without it
    with engine.store.reading() as conn:
        assert (
            conn.execute("SELECT COUNT(*) FROM chunks WHERE article_id='bees'").fetchone()[0] == 0
        )
        assert conn.execute("SELECT COUNT(*) FROM articles WHERE id='bees'").fetchone()[0] == 0
        orphans = conn.execute(
            "SELECT COUNT(*) FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM chunks)"
        ).fetchone()[0]
        assert orphans == 0
    for mode in ("hybrid", "dense", "bm25"):
        result = engine.search("queen bee eggs", mode=mode, abstain=False)
        assert all(h.article_id != "bees" for h in result.hits)
    with pytest.raises(ArticleNotFoundError):
        engine.remove("bees")


def _unused_vectors(engine: Engine) -> int:
    with engine.store.reading() as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM chunks)"
        ).fetchone()
    return int(row[0])


@pytest.mark.sqlite_only
def test_changing_an_article_drops_only_its_old_vectors(engine: Engine) -> None:
    """An add looks only at the vectors it replaced (no pass over the whole cache), and an
    index from before the embed_hash index gets it on its first write."""
    engine.add(SAMPLE_ARTICLES)
    with engine.store.transaction() as conn:
        conn.execute("DROP INDEX chunks_embed_hash")
    bees = SAMPLE_ARTICLES[1]
    engine.add([make_article(bees.id, bees.title, "Drones do not sting at all.")])
    assert _unused_vectors(engine) == 0
    with engine.store.reading() as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        kept = conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert "chunks_embed_hash" in names
    assert kept == len(engine.snapshot.chunks)


def test_sync_removes_articles_no_longer_given(engine: Engine) -> None:
    engine.sync(SAMPLE_ARTICLES, remove_missing=True)
    report = engine.sync(SAMPLE_ARTICLES[:1], remove_missing=True)
    assert sorted(report.removed) == ["bees", "trains"]
    assert set(engine.snapshot.articles) == {"volcanoes"}


def test_duplicates_are_reported_not_indexed(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    same_text = make_article("copy", "Another title", SAMPLE_ARTICLES[1].text.upper())
    same_url = make_article(
        "other", "x", "Different words entirely.", url="https://example.org/volcanoes"
    )
    report = engine.add([same_text, same_url])
    assert sorted(report.duplicates) == [("copy", "bees"), ("other", "volcanoes")]
    assert report.written == []
    assert set(engine.snapshot.articles) == {"bees", "trains", "volcanoes"}


def test_reopening_loads_saved_indexes_and_gives_the_same_answers(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before = engine.search("honey bee colony").as_json()
    reopened = Engine(settings, embedder).open()
    assert reopened.search("honey bee colony").as_json() == before
    status = reopened.status()
    assert (status.articles, status.model, status.dimension) == (3, "hashing:256", 256)
    assert status.chunks == len(engine.snapshot.chunks) and status.size_bytes > 0


def test_corrupt_derived_files_are_rebuilt_from_sqlite(
    settings: RetrievalSettings, embedder: HashingEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    before = engine.search("magma crust pressure").as_json()
    derived = next((settings.index_dir / "derived").iterdir())
    faiss_file = next(derived.glob("dense-*.faiss"))
    faiss_file.write_bytes(b"garbage" * 10)
    with caplog.at_level(logging.WARNING):
        reopened = Engine(settings, embedder).open()
    assert "corrupt" in caplog.text
    assert reopened.search("magma crust pressure").as_json() == before
    for path in derived.glob("bm25-*"):
        for file in path.iterdir():
            file.unlink()
    assert Engine(settings, embedder).open().search("magma crust pressure").as_json() == before


def test_model_change_gives_one_clear_error(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    Engine(settings, embedder).open().add(SAMPLE_ARTICLES)
    with pytest.raises(IndexMismatchError) as info:
        Engine(settings, HashingEmbedder(dimension=128)).open()
    message = str(info.value)
    assert "hashing:256" in message and "hashing:128" in message
    assert "newsdesk index rebuild --full" in message


@pytest.mark.sqlite_only
def test_chunk_settings_change_needs_a_full_rebuild(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    Engine(settings, embedder).open().add(SAMPLE_ARTICLES)
    changed = settings.model_copy(update={"chunk_tokens": 99})
    with pytest.raises(IndexMismatchError, match="chunk_tokens"):
        Engine(changed, embedder).open()
    fresh = Engine(changed, embedder)
    report = fresh.rebuild_full(SAMPLE_ARTICLES)
    assert sorted(report.changed) == ["bees", "trains", "volcanoes"]
    assert Engine(changed, embedder).open().search("bees").hits
    databases = list(settings.index_dir.glob("newsdesk-*.sqlite3"))
    assert len(databases) == 1  # the old database was removed after the switch


def test_searches_during_writes_never_see_half_an_article(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    engine = Engine(settings, embedder).open()
    engine.add(SAMPLE_ARTICLES)
    big = [
        make_article(
            f"extra-{i}", f"Extra {i}", " ".join(f"Fact {j} of extra {i}." for j in range(60))
        )
        for i in range(8)
    ]
    chunk_counts: dict[str, int] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                snapshot = engine.snapshot
                ids = snapshot.chunks.article_ids
                for article_id in set(ids):
                    chunk_counts.setdefault(article_id, ids.count(article_id))
                    # Every article is either absent or present with all of its chunks.
                    assert ids.count(article_id) == chunk_counts[article_id]
                assert snapshot.dense.size == len(ids) == snapshot.lexical.size
                engine.search("extra facts", abstain=False)
        except BaseException as exc:  # noqa: BLE001 (handed to the main thread, which fails)
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for article in big:
        engine.add([article])
    engine.remove("extra-3")
    chunk_counts.pop("extra-3", None)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[0]
    assert "extra-3" not in engine.snapshot.articles
    assert len(engine.snapshot.articles) == 3 + 7


async def test_asearch_runs_off_the_event_loop(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = engine.embedder.encode_query

    def spy(text: str) -> np.ndarray:
        seen.append(threading.get_ident())
        return original(text)

    engine.embedder.encode_query = spy  # type: ignore[method-assign]
    results = await asyncio.gather(*(engine.asearch("bees") for _ in range(5)))
    assert all(r.hits[0].article_id == "bees" for r in results)
    assert seen and loop_thread not in seen


def test_another_process_writes_are_picked_up(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    bot_side = Engine(settings, embedder).open()
    cli_side = Engine(settings, embedder).open()
    cli_side.add(SAMPLE_ARTICLES[:1])
    assert "volcanoes" not in bot_side.snapshot.articles
    assert bot_side.reload_if_changed()
    assert "volcanoes" in bot_side.snapshot.articles
    assert not bot_side.reload_if_changed()


@pytest.mark.sqlite_only
def test_write_lock_file_lives_in_the_index(settings: RetrievalSettings, tmp_path: Path) -> None:
    with location.write_lock(settings.index_dir):
        assert (settings.index_dir / "write.lock").exists()
