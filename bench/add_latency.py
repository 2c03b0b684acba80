"""How long from handing the library one new ~1,000-word article to it being searchable?
`engine.add` on an existing index (SQuAD's 48 articles, ~2k chunks), split into encoding and
the rest (SQLite commit, snapshot swap, saving the derived files); then the same at larger
collections (10k chunks, flat FAISS; 60k, HNSW), filled with synthetic articles and vectors
so that only the timed adds pay for the real encoder."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.common import (
    EVAL,
    Options,
    Run,
    load_embedder,
    parse_args,
    prepared_index,
    quick_or_full_squad,
    read_jsonl,
)
from retrieval.documents import Article

if TYPE_CHECKING:
    from retrieval.settings import EmbeddingBackend


def new_articles(count: int, words: int = 1000, skip: int = 0) -> list[Article]:
    """~1,000-word articles that are not in the index: Cranfield abstracts run together
    (`skip` leaves out the first ones, so two runs can add different articles)."""
    rows = read_jsonl(EVAL / "cranfield" / "articles.jsonl")
    articles, text, number = [], [], 0
    for row in rows:
        text.append(row["text"].strip())
        if sum(len(t.split()) for t in text) >= words:
            articles.append(
                Article(id=f"new-{number}", title=row["title"][:80], text="\n\n".join(text))
            )
            text, number = [], number + 1
            if len(articles) == skip + count:
                break
    return articles[skip:]


class TimedEncoder:
    """Passes through to an encoder and adds up the time spent encoding."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.encode(texts, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


class SyntheticEncoder:
    """The real encoder's identity and tokenizer (so chunking and the manifest are real) with
    synthetic vectors: fills an index to a given size in seconds instead of an hour."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: Any, **kwargs: Any) -> Any:
        from bench.synthetic import vectors

        self.seed += 1
        return vectors(len(texts), seed=self.seed)


def at_scale(
    options: Options, backend: EmbeddingBackend, encoder: TimedEncoder, sizes: tuple[int, ...]
) -> dict[str, Any]:
    """Adds timed on one index grown through `sizes` chunks of synthetic articles."""
    from bench.synthetic import article_texts, squad_vocabulary
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings
    from retrieval.text.analyzer import Analyzer

    work = options.cache / "add-latency-scale"
    shutil.rmtree(work, ignore_errors=True)
    settings = RetrievalSettings(  # type: ignore[call-arg]
        _env_file=None, index_dir=work, embedding_backend=backend
    )
    filler = Engine(settings, SyntheticEncoder(encoder.inner)).open()
    texts = iter(article_texts(squad_vocabulary(Analyzer()), count=max(sizes) // 8, seed=9))
    news = iter(new_articles(3 * len(sizes), words=1000, skip=8))
    out: dict[str, Any] = {}
    number = 0
    for size in sizes:
        while len(filler.snapshot.chunks) < size:
            batch = []
            for text in texts:
                batch.append(Article(id=f"filler-{number}", title=f"Filler {number}", text=text))
                number += 1
                if len(batch) == 200:
                    break
            if not batch:
                break
            filler.add(batch)
        engine = Engine(settings, encoder).open()
        trials = [timed_add(engine, encoder, next(news)) for _ in range(3)]
        out[str(len(engine.snapshot.chunks))] = {
            "dense": engine.snapshot.dense.kind,
            "trials": trials,
            "median_searchable_seconds": float(
                np.median([t["searchable_seconds"] for t in trials])
            ),
            "median_rest_seconds": float(np.median([t["rest_seconds"] for t in trials])),
        }
        filler = Engine(settings, SyntheticEncoder(encoder.inner)).open()
    shutil.rmtree(work, ignore_errors=True)
    return out


def timed_add(engine: Any, encoder: TimedEncoder, article: Article) -> dict[str, Any]:
    encoder.seconds = 0.0
    started = time.perf_counter()
    report = engine.add([article])
    added = time.perf_counter() - started
    question = " ".join(article.text.split()[20:32])
    result = engine.search(question, abstain=False)
    searchable = time.perf_counter() - started
    return {
        "words": len(article.text.split()),
        "chunks": report.chunks_written,
        "add_seconds": round(added, 3),
        "encode_seconds": round(encoder.seconds, 3),
        "rest_seconds": round(added - encoder.seconds, 3),
        "searchable_seconds": round(searchable, 3),
        "found_first": bool(result.hits) and result.hits[0].article_id == article.id,
    }


def main(options: Options) -> None:
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings

    run = Run("add_latency", options)
    backend = RetrievalSettings(_env_file=None).embedding_backend  # type: ignore[call-arg]
    evalset = quick_or_full_squad(options, with_ood=False)
    base = prepared_index(options, backend, evalset)
    work = options.cache / "add-latency-index"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    settings = RetrievalSettings(  # type: ignore[call-arg]
        _env_file=None, index_dir=work, embedding_backend=backend
    )
    encoder = TimedEncoder(load_embedder(backend, options))
    engine = Engine(settings, encoder).open()
    chunks_before = len(engine.snapshot.chunks)
    trials = []
    for article in new_articles(3 if options.quick else 8):
        trials.append(timed_add(engine, encoder, article))
        run.note(f"added {article.id}: {trials[-1]}")
    shutil.rmtree(work, ignore_errors=True)
    run.results.update(
        backend=backend,
        index_chunks=chunks_before,
        trials=trials,
        median_searchable_seconds=float(np.median([t["searchable_seconds"] for t in trials])),
        max_searchable_seconds=max(t["searchable_seconds"] for t in trials),
        by_collection_size=at_scale(
            options, backend, encoder, (5_000,) if options.quick else (10_000, 60_000)
        ),
    )
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
