"""Which chunk size and overlap? Ans@5, Hit@5, MRR@10 and nDCG@10 (hybrid) on SQuAD whole
articles for several sizes (in word pieces) and overlaps, with the chunk count and indexing
time, the default marked. Half the articles (and their questions) keep it to minutes."""

from __future__ import annotations

import time
from typing import Any

from bench.common import Options, Run, load_embedder, parse_args, squad_set
from retrieval.evaluation import evaluate, load_queries
from retrieval.loaders import load_file

CONFIGS = ((128, 32), (192, 48), (256, 0), (256, 64), (256, 128))
QUICK_CONFIGS = ((128, 32), (256, 64))


def main(options: Options) -> None:
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings

    run = Run("chunk_sweep", options)
    defaults = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    backend = defaults.embedding_backend
    embedder = load_embedder(backend, options)
    evalset = squad_set(options, 3 if options.quick else 24, with_ood=False)
    articles = load_file(evalset.articles, max_bytes=50_000_000)
    queries = load_queries(list(evalset.queries))
    rows: list[dict[str, Any]] = []
    for size, overlap in QUICK_CONFIGS if options.quick else CONFIGS:
        index = options.cache / "indexes" / "sweep" / f"{evalset.name}-{size}-{overlap}"
        settings = defaults.model_copy(
            update={"index_dir": index, "chunk_tokens": size, "chunk_overlap_tokens": overlap}
        )
        engine = Engine(settings, embedder).open()
        started = time.perf_counter()
        report = engine.sync(articles, remove_missing=True)
        built = time.perf_counter() - started
        metrics = evaluate(queries, lambda q, e=engine: e.search(q, k=10)).as_json()
        rows.append(
            {
                "chunk_tokens": size,
                "overlap_tokens": overlap,
                "chunks": len(engine.snapshot.chunks),
                "index_seconds": round(built, 1),
                "encoded_now": report.chunks_encoded,
                "default": (size, overlap)
                == (defaults.chunk_tokens, defaults.chunk_overlap_tokens),
                **{m: metrics[m] for m in ("ans@5", "hit@5", "mrr@10", "ndcg@10")},
            }
        )
        run.note(f"{size}/{overlap}: {rows[-1]}")
    run.results.update(backend=backend, set=evalset.name, queries=len(queries), configs=rows)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
