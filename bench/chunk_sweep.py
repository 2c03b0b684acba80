"""Which chunk size and overlap? Ans@5, Hit@5, MRR@10 and nDCG@10 (hybrid) on SQuAD whole
articles for several sizes (in word pieces) and overlaps, with the chunk count and indexing
time, the default marked. Half the articles (and their questions) keep it to minutes.

A new index starts with the vectors of bench.quality's SQuAD index (same encoder) in its
embedding cache, so chunks whose text is the same are not encoded again (the default
chunking's, all of them): `encoded_now` says how many each index did encode, and
`index_seconds` is the time that took."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    QUICK_ARTICLES,
    Options,
    Run,
    load_embedder,
    open_index,
    parallel_map,
    parse_args,
    quick_or_full_squad,
    squad_set,
)
from retrieval.evaluation import evaluate, load_queries
from retrieval.loaders import load_file

CONFIGS = ((128, 32), (192, 48), (256, 0), (256, 64), (256, 128))
QUICK_CONFIGS = ((128, 32), (256, 64))
METRICS = ("ans@5", "hit@5", "mrr@10", "ndcg@10")


def score(
    options: Options, backend: str, index: Path, queries: list[Path], size: int, overlap: int
) -> dict[str, Any]:
    """Hybrid metrics of one chunking (a worker process)."""
    engine = open_index(options, backend, index, chunk_tokens=size, chunk_overlap_tokens=overlap)
    metrics = evaluate(load_queries(queries), lambda q: engine.search(q, k=10)).as_json()
    return {m: metrics[m] for m in METRICS}


def seed(engine: Any, source: Path) -> int:
    """Put the vectors of the index in `source` (if it was built with the same encoder) in the
    embedding cache of `engine`'s index; the sync that follows drops those it doesn't use."""
    from retrieval.index import location
    from retrieval.index.manifest import ENCODER_KEYS
    from retrieval.index.store import Store

    database = location.current_database(source)
    if database is None or not database.exists():
        return 0
    store = Store(database)
    expected = engine.expected_manifest()
    manifest = store.manifest()
    if any(manifest.get(k) != expected[k] for k in ENCODER_KEYS):
        return 0
    with store.reading() as conn:
        rows = conn.execute("SELECT hash, vector FROM embeddings").fetchall()
    if not rows:
        return 0
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    with engine.store.transaction() as conn:
        Store.put_embeddings(conn, [r[0] for r in rows], vectors.reshape(len(rows), -1))
    return len(rows)


def main(options: Options) -> None:
    from retrieval.engine import Engine
    from retrieval.errors import IndexMismatchError
    from retrieval.settings import RetrievalSettings

    run = Run("chunk_sweep", options)
    defaults = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    backend = defaults.embedding_backend
    embedder = load_embedder(backend, options)
    evalset = squad_set(options, QUICK_ARTICLES if options.quick else 24, with_ood=False)
    articles = load_file(evalset.articles, max_bytes=50_000_000)
    queries = load_queries(list(evalset.queries))
    source = options.cache / "indexes" / backend / quick_or_full_squad(options).name
    rows: list[dict[str, Any]] = []
    tasks = []
    # Indexes one after another (encoding uses every core and is what index_seconds times),
    # then the questions, a worker per core.
    for size, overlap in QUICK_CONFIGS if options.quick else CONFIGS:
        index = options.cache / "indexes" / "sweep" / f"{evalset.name}-{size}-{overlap}"
        settings = defaults.model_copy(
            update={"index_dir": index, "chunk_tokens": size, "chunk_overlap_tokens": overlap}
        )
        try:
            engine = Engine(settings, embedder).open()
        except IndexMismatchError:  # cached by an older version: start it again
            shutil.rmtree(index)
            engine = Engine(settings, embedder).open()
        if not len(engine.snapshot.chunks):
            seed(engine, source)
        started = time.perf_counter()
        report = engine.sync(articles, remove_missing=True)
        built = time.perf_counter() - started
        rows.append(
            {
                "chunk_tokens": size,
                "overlap_tokens": overlap,
                "chunks": len(engine.snapshot.chunks),
                "index_seconds": round(built, 1),
                "encoded_now": report.chunks_encoded,
                "default": (size, overlap)
                == (defaults.chunk_tokens, defaults.chunk_overlap_tokens),
            }
        )
        tasks.append((options, backend, index, list(evalset.queries), size, overlap))
    for row, metrics in zip(rows, parallel_map(score, tasks), strict=True):
        row.update(metrics)
        run.note(f"{row['chunk_tokens']}/{row['overlap_tokens']}: {row}")
    run.results.update(backend=backend, set=evalset.name, queries=len(queries), configs=rows)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
