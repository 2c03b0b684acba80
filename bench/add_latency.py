"""How long from handing the library one new ~1,000-word article to it being searchable?
`engine.add` on an existing index (SQuAD's 48 articles, ~2k chunks), split into encoding and
the rest (SQLite commit, snapshot swap with the BM25 rebuild, saving the derived files); and
what the BM25 rebuild, the one step that grows with the collection, costs at larger sizes."""

from __future__ import annotations

import shutil
import time
from typing import Any

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


def new_articles(count: int, words: int = 1000) -> list[Article]:
    """~1,000-word articles that are not in the index: Cranfield abstracts run together."""
    rows = read_jsonl(EVAL / "cranfield" / "articles.jsonl")
    articles, text, number = [], [], 0
    for row in rows:
        text.append(row["text"].strip())
        if sum(len(t.split()) for t in text) >= words:
            articles.append(
                Article(id=f"new-{number}", title=row["title"][:80], text="\n\n".join(text))
            )
            text, number = [], number + 1
            if len(articles) == count:
                break
    return articles


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


def bm25_rebuild(sizes: tuple[int, ...]) -> dict[str, float]:
    from bench.synthetic import TOKENS_PER_CHUNK, squad_vocabulary
    from retrieval.index.lexical import Analyzer, LexicalIndex

    vocabulary = squad_vocabulary(Analyzer())
    rng = np.random.default_rng(5)
    out = {}
    for size in sizes:
        ids = rng.choice(
            len(vocabulary.words), size=(size, TOKENS_PER_CHUNK), p=vocabulary.probabilities
        )
        tokens = [[vocabulary.words[i] for i in row] for row in ids]
        started = time.perf_counter()
        LexicalIndex.build(tokens)
        out[str(size)] = round(time.perf_counter() - started, 3)
    return out


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
    engine = Engine(settings, encoder).open()  # type: ignore[arg-type]
    chunks_before = len(engine.snapshot.chunks)
    trials = []
    for article in new_articles(3 if options.quick else 8):
        encoder.seconds = 0.0
        started = time.perf_counter()
        report = engine.add([article])
        added = time.perf_counter() - started
        question = " ".join(article.text.split()[20:32])
        result = engine.search(question, abstain=False)
        searchable = time.perf_counter() - started
        trials.append(
            {
                "words": len(article.text.split()),
                "chunks": report.chunks_written,
                "add_seconds": round(added, 3),
                "encode_seconds": round(encoder.seconds, 3),
                "rest_seconds": round(added - encoder.seconds, 3),
                "searchable_seconds": round(searchable, 3),
                "found_first": bool(result.hits) and result.hits[0].article_id == article.id,
            }
        )
        run.note(f"added {article.id}: {trials[-1]}")
    shutil.rmtree(work, ignore_errors=True)
    run.results.update(
        backend=backend,
        index_chunks=chunks_before,
        trials=trials,
        median_searchable_seconds=float(np.median([t["searchable_seconds"] for t in trials])),
        max_searchable_seconds=max(t["searchable_seconds"] for t in trials),
        bm25_rebuild_seconds_by_chunks=bm25_rebuild(
            (2_000, 10_000) if options.quick else (2_000, 10_000, 50_000)
        ),
    )
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
