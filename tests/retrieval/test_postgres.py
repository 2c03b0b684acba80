"""The index in PostgreSQL: migrations, errors, kills, several processes, a standby. The
engine's own behaviour is tested on both backends by its modules (tests/retrieval/backends.py).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from retrieval.documents import Article
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.errors import DatabaseMigrationError, DatabaseUnavailableError
from retrieval.index.postgres import migrations
from retrieval.index.postgres.connection import connect, safe_database_url, translate
from retrieval.index.postgres.home import migrate_database
from retrieval.index.store import read_contents
from retrieval.settings import RetrievalSettings
from retrieval.text.chunking import chunk_article
from tests.environment import child_env
from tests.factories import EVAL
from tests.postgres_server import PostgresServer
from tests.reliability import corpus

SECONDS = 120  # each multi-process test's bound


# -- translation (no server) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT id FROM articles WHERE id = ?", "SELECT id FROM articles WHERE id = %s"),
        (
            "INSERT OR REPLACE INTO manifest VALUES (?, ?)",
            "INSERT INTO manifest VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
            "EXCLUDED.value",
        ),
        (
            "INSERT OR IGNORE INTO minhash_bands VALUES (?, ?, ?)",
            "INSERT INTO minhash_bands VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        ),
        ("SELECT s.start, s.end FROM sentences s", 'SELECT s.start, s."end" FROM sentences s'),
        (
            "SELECT a FROM t WHERE a LIKE ? ESCAPE '\\'",
            "SELECT a FROM t WHERE a LIKE %s ESCAPE '\\'",
        ),
        ("SELECT 100 % 7, backend, ending", "SELECT 100 %% 7, backend, ending"),
        ("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    ],
)
def test_the_sqlite_spellings_are_translated(sqlite: str, postgres: str) -> None:
    assert translate(sqlite) == postgres


@pytest.mark.parametrize(
    "sql", ["INSERT OR REPLACE INTO articles VALUES (?)", "DELETE FROM t WHERE a = ?1"]
)
def test_a_spelling_without_translation_is_refused_not_guessed(sql: str) -> None:
    with pytest.raises(ValueError, match="no PostgreSQL translation"):
        translate(sql)


def test_an_unreachable_database_names_the_fix_without_the_password(
    settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    url = "postgresql://news:hunter2@127.0.0.1:1/newsdesk"
    away = settings.model_copy(update={"database_url": SecretStr(url)})
    with pytest.raises(DatabaseUnavailableError) as info:
        Engine(away, embedder).open()
    message = str(info.value)
    assert "hunter2" not in message and "hunter2" not in repr(away)
    assert "postgresql://news@127.0.0.1:1/newsdesk" in message
    assert "NEWSDESK_DATABASE_URL" in message
    assert info.value.exit_code == 75
    assert safe_database_url(url) == "postgresql://news@127.0.0.1:1/newsdesk"


# -- migrations --------------------------------------------------------------------------------

pg = pytest.mark.postgres


@pg
def test_migrations_are_applied_once_and_logged(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    url = pg_settings.database_url
    assert url is not None
    conn = connect(url.get_secret_value(), vectors=False)
    try:
        assert [m.version for m in migrations.pending(conn)] == [
            m.version for m in migrations.MIGRATIONS
        ]
    finally:
        conn.close()
    with caplog.at_level(logging.INFO, logger="retrieval.index.postgres.migrations"):
        Engine(pg_settings, embedder).open()
    assert "applying database migration 1: pgvector" in caplog.text
    applied, version = migrate_database(url.get_secret_value())
    assert applied == [] and version == migrations.LATEST


@pg
def test_never_migrating_at_start_refuses_and_names_the_command(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    strict = pg_settings.model_copy(update={"database_migrate": "never"})
    # Another database URL than any opened before in this process (migrations are checked
    # once per URL): the fresh database of this test.
    with pytest.raises(DatabaseMigrationError, match="newsdesk index migrate"):
        Engine(strict, embedder).open()
    url = strict.database_url
    assert url is not None
    applied, _ = migrate_database(url.get_secret_value())
    assert [m.version for m in applied] == [m.version for m in migrations.MIGRATIONS]
    Engine(strict, embedder).open()  # migrated: opens


# -- collections and builds --------------------------------------------------------------------


@pg
def test_collections_in_one_database_are_apart(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    first = Engine(pg_settings, embedder).open()
    other = Engine(pg_settings.model_copy(update={"database_collection": "other"}), embedder)
    other.open()
    first.add([corpus.article(1)])
    other.add([corpus.article(2)])
    assert set(first.snapshot.articles) == {corpus.article_id(1)}
    assert set(other.snapshot.articles) == {corpus.article_id(2)}


def _builds(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'nd_%'")
        return {str(r[0]) for r in rows}


@pg
def test_a_full_rebuild_switches_builds_and_drops_the_old_one(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    url = pg_settings.database_url
    assert url is not None
    engine = Engine(pg_settings, embedder).open()
    engine.add([corpus.article(1), corpus.article(2)])
    (before,) = _builds(url.get_secret_value())
    reader = Engine(pg_settings, embedder).open()
    engine.rebuild_full([corpus.article(2), corpus.article(3)])
    (after,) = _builds(url.get_secret_value())
    assert after != before
    assert reader.reload_if_changed()
    assert set(reader.snapshot.articles) == {corpus.article_id(2), corpus.article_id(3)}


# -- kills and several processes ---------------------------------------------------------------


def _child_env(settings: RetrievalSettings, index_dir: Path) -> dict[str, str]:
    """The child's settings: the same database and manifest, its own cache folder (as on
    another machine)."""
    url = settings.database_url
    assert url is not None
    return child_env(
        NEWSDESK_DATABASE_URL=url.get_secret_value(),
        NEWSDESK_MODEL="hashing",
        NEWSDESK_INDEX_DIR=str(index_dir),
        NEWSDESK_ARTICLES_DIR=str(settings.articles_dir),
        NEWSDESK_CHUNK_TOKENS=str(settings.chunk_tokens),
        NEWSDESK_CHUNK_OVERLAP_TOKENS=str(settings.chunk_overlap_tokens),
    )


class _Writer:
    """tests/retrieval/pg_writer.py in a child process, its printed lines collected."""

    def __init__(
        self, settings: RetrievalSettings, where: Path, mode: str, first: int, count: int
    ) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.retrieval.pg_writer", mode, str(first), str(count)],
            env=_child_env(settings, where),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def wait_for(self, count: int, timeout: float = SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count:
            assert self.process.poll() is None or len(self.lines) >= count, "the writer died"
            assert time.monotonic() < deadline, f"the writer printed only {self.lines}"
            time.sleep(0.02)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def finish(self, timeout: float = SECONDS) -> None:
        assert self.process.wait(timeout=timeout) == 0
        self._close()

    @property
    def confirmed(self) -> list[str]:
        return [line for line in self.lines if line not in ("ready", "done")]


def _whole(engine: Engine) -> None:
    """Every stored article has all of its chunks, each with its vector (read_contents
    raises on a missing one)."""
    contents = read_contents(engine.store, engine.embedder.dimension)
    chunks: dict[str, int] = {}
    for chunk in contents.chunks:
        chunks[chunk.article_id] = chunks.get(chunk.article_id, 0) + 1
    for article_id, article in contents.articles.items():
        expected = chunk_article(article, engine.chunker, engine.embedder.count_tokens)
        assert chunks.get(article_id, 0) == len(expected), article_id


@pg
@pytest.mark.slow
def test_sigkill_during_adds_leaves_only_whole_articles(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder, tmp_path: Path
) -> None:
    engine = Engine(pg_settings, embedder).open()  # the index exists before the writers
    rng = random.Random(16)
    for round_number in range(3):
        first = 100 * (round_number + 1)
        loop = _Writer(pg_settings, tmp_path / f"loop{round_number}", "loop", first, 40)
        loop.wait_for(2)  # "ready" and one add
        time.sleep(rng.uniform(0.0, 1.0))
        loop.kill()
        batch = _Writer(pg_settings, tmp_path / f"batch{round_number}", "batch", first + 50, 12)
        batch.wait_for(1)
        time.sleep(rng.uniform(0.0, 0.5))
        batch.kill()
        engine.reload_if_changed()
        stored = set(engine.snapshot.articles)
        assert set(loop.confirmed) <= stored
        in_batch = {corpus.article_id(n) for n in range(first + 50, first + 62)}
        assert stored & in_batch in (set(), in_batch), "half a batch was committed"
        _whole(engine)
    # The killed writers' locks went with their connections: a write goes through at once.
    started = time.monotonic()
    engine.add([corpus.article(1)])
    assert time.monotonic() - started < 30
    assert engine.search(corpus.question(1), abstain=False).hits[0].article_id == (
        corpus.article_id(1)
    )


@pg
@pytest.mark.slow
def test_two_processes_add_while_a_third_searches(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder, tmp_path: Path
) -> None:
    engine = Engine(pg_settings, embedder).open()
    writers = [
        _Writer(pg_settings, tmp_path / "one", "loop", 0, 12),
        _Writer(pg_settings, tmp_path / "two", "loop", 50, 12),
    ]
    deadline = time.monotonic() + SECONDS
    searched = 0
    while any(w.process.poll() is None for w in writers):
        assert time.monotonic() < deadline, "the writers did not finish"
        engine.reload_if_changed()
        confirmed = [aid for w in writers for aid in w.confirmed]
        if confirmed:
            number = int(confirmed[-1].rsplit("-", 1)[1])
            hits = engine.search(corpus.question(number), abstain=False).hits
            searched += 1
            # A search never fails on a half-written index; what it sees is whole.
            assert hits
        time.sleep(0.05)
    for writer in writers:
        writer.finish()
    engine.reload_if_changed()
    expected = {corpus.article_id(n) for n in [*range(0, 12), *range(50, 62)]}
    assert set(engine.snapshot.articles) == expected
    _whole(engine)
    for number in (0, 11, 50, 61):
        assert engine.search(corpus.question(number), abstain=False).hits[0].article_id == (
            corpus.article_id(number)
        )
    assert searched > 0
    # Chunk ids only grow across both writers' commits (the snapshot's row order).
    ids = list(engine.snapshot.chunks.ids)
    assert ids == sorted(set(ids))


# -- a standby ---------------------------------------------------------------------------------


@pg
@pytest.mark.slow
def test_a_standby_from_pg_basebackup_answers_searches(
    postgres_server: PostgresServer,
    pg_settings: RetrievalSettings,
    embedder: HashingEmbedder,
) -> None:
    url = pg_settings.database_url
    assert url is not None
    primary = Engine(pg_settings, embedder).open()
    primary.add([corpus.article(n) for n in range(5)])
    standby = postgres_server.folder / f"standby-{os.getpid()}-{time.monotonic_ns()}"
    postgres_server.run(
        "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(postgres_server.port),
        "-U",
        "postgres",
        "-D",
        str(standby),
        "-R",
        "-X",
        "stream",
        "--no-sync",
        "--checkpoint=fast",
    )
    port = postgres_server.start(standby)
    try:
        database = url.get_secret_value().rsplit("/", 1)[1]
        replica = pg_settings.model_copy(
            update={
                "database_url": SecretStr(postgres_server.url(database, port=port)),
                "index_read_only": True,
                "index_dir": pg_settings.index_dir.parent / "standby-cache",
            }
        )
        reader = Engine(replica, embedder).open()
        for number in range(5):
            hits = reader.search(corpus.question(number), abstain=False).hits
            assert hits[0].article_id == corpus.article_id(number)
        # Streaming: an add on the primary reaches the standby's searches.
        primary.add([corpus.article(7)])
        deadline = time.monotonic() + 30
        while corpus.article_id(7) not in reader.snapshot.articles:
            assert time.monotonic() < deadline, "the standby never replayed the add"
            reader.reload_if_changed()
            time.sleep(0.1)
        assert reader.search(corpus.question(7), abstain=False).hits[0].article_id == (
            corpus.article_id(7)
        )
    finally:
        postgres_server.stop(standby)


@pg
async def test_commits_are_announced_to_listeners(
    pg_settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    import asyncio

    from retrieval.index.postgres.changes import watch_changes

    url = pg_settings.database_url
    assert url is not None
    engine = Engine(pg_settings, embedder).open()
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = asyncio.create_task(watch_changes(url.get_secret_value(), heard.put))
    try:
        for _ in range(200):  # until it listens: an add before that is not announced
            await asyncio.to_thread(engine.add, [corpus.article(len(engine.snapshot.articles))])
            try:
                assert await asyncio.wait_for(heard.get(), timeout=0.5) == "main"
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("no change was ever announced")
        await asyncio.to_thread(engine.remove, corpus.article_id(0))
        assert await asyncio.wait_for(heard.get(), timeout=10) == "main"
    finally:
        listener.cancel()


# -- the same answers --------------------------------------------------------------------------


def _squad_sample() -> tuple[list[Article], list[str]]:
    """12 whole SQuAD articles, the questions written against them, unanswerable ones and
    off-topic ones (the shared sets; a fixed sample, nothing chosen by result)."""
    articles = []
    with (EVAL / "squad" / "articles_full.jsonl").open(encoding="utf-8") as lines:
        for line in itertools.islice(lines, 12):
            row = json.loads(line)
            articles.append(Article(id=row["id"], title=row["title"], text=row["text"]))
    ids = {a.id for a in articles}
    questions: list[str] = []
    for name, limit in (
        ("squad/queries_full.jsonl", 120),
        ("squad/queries_unanswerable.jsonl", 30),
        ("out_of_domain/cranfield_questions_for_squad.jsonl", 30),
    ):
        taken = 0
        with (EVAL / name).open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                about = row.get("relevant_article_ids") or [
                    row.get("written_against_full_article_id")
                ]
                if name.startswith("squad/queries_full") and not set(about) & ids:
                    continue
                if "unanswerable" in name and not set(about) & ids:
                    continue
                questions.append(row["question"])
                taken += 1
                if taken == limit:
                    break
    return articles, questions


@pg
@pytest.mark.slow
def test_both_backends_give_the_same_answers_on_the_shared_sets(
    settings: RetrievalSettings, pg_settings: RetrievalSettings, embedder: HashingEmbedder
) -> None:
    """The backends differ in where the index is kept, not in what a question gets: the same
    pages, excerpts, scores and abstentions (so the quality figures are the same)."""
    articles, questions = _squad_sample()
    assert len(questions) > 100
    answers = []
    for chosen in (settings, pg_settings):
        # A threshold the test encoder crosses both ways, so both kinds of answer are compared.
        chosen = chosen.model_copy(update={"abstain_threshold": 0.3})
        engine = Engine(chosen, embedder).open()
        engine.add(articles)
        results = [engine.search(q) for q in questions]
        answers.append(
            [
                (
                    r.abstained,
                    [(h.article_id, h.chunk_id, h.excerpt, round(h.score, 6)) for h in r.hits],
                )
                for r in results
            ]
        )
    assert answers[0] == answers[1]
    assert any(abstained for abstained, _ in answers[0])
    assert any(hits for _, hits in answers[0])


@pg
@pytest.mark.slow
def test_a_restarted_server_costs_no_search_an_error(
    postgres_server: PostgresServer,
    settings: RetrievalSettings,
    embedder: HashingEmbedder,
) -> None:
    """Connections kept for reuse die with the server; the next search, after it is back,
    gets new ones instead of an error. While it is down: the one-line try-again error."""
    own = postgres_server.another(f"restart-{os.getpid()}-{time.monotonic_ns()}")
    try:
        url = own.new_database()
        here = settings.model_copy(update={"database_url": SecretStr(url)})
        engine = Engine(here, embedder).open()
        engine.add([corpus.article(n) for n in range(3)])
        assert engine.search(corpus.question(1), abstain=False).hits
        own.stop()
        own.start(port=own.port)  # a restart nobody noticed: the kept connections are dead
        time.sleep(2.5)  # past the age at which a kept connection is checked before use
        engine.add([corpus.article(4)])
        own.stop()
        with pytest.raises(DatabaseUnavailableError, match="cannot reach"):
            engine.add([corpus.article(5)])
        own.start(port=own.port)
        hits = engine.search(corpus.question(4), abstain=False).hits
        assert hits[0].article_id == corpus.article_id(4)
    finally:
        own.stop()
