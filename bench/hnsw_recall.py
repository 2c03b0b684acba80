"""Does HNSW (what dense search switches to above NEWSDESK_DENSE_EXACT_LIMIT) find what exact
search finds? Recall@10 and @100 against IndexFlatIP on real MiniLM embeddings: every
sentence and two-sentence window of the SQuAD and Cranfield articles, asked with the real
SQuAD and Cranfield questions."""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

from bench.common import EVAL, Options, Run, load_embedder, parse_args, read_jsonl, summary_ms
from retrieval.index import dense as dense_module
from retrieval.index.dense import DenseIndex
from retrieval.text.sentences import sentence_spans


def corpus_texts(limit: int) -> list[str]:
    texts: list[str] = []
    rows = read_jsonl(EVAL / "squad" / "articles.jsonl") + read_jsonl(
        EVAL / "cranfield" / "articles.jsonl"
    )
    for row in rows:
        text = row["text"]
        sentences = [text[s:e] for s, e in sentence_spans(text)]
        texts += sentences
        texts += [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    rng = np.random.default_rng(3)
    rng.shuffle(texts)
    return texts[:limit]


def embeddings(options: Options, limit: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached: encoding tens of thousands of sentences takes a few minutes."""
    path = options.cache / f"hnsw-recall-{limit}-{queries}.npz"
    if path.exists():
        with np.load(path) as data:
            return data["corpus"], data["queries"]
    embedder = load_embedder("onnx-int8", options)
    corpus = embedder.encode(corpus_texts(limit))
    asked = [r["question"] for r in read_jsonl(EVAL / "squad" / "queries.jsonl")]
    asked += [r["question"] for r in read_jsonl(EVAL / "cranfield" / "queries.jsonl")]
    rng = np.random.default_rng(4)
    chosen = [asked[i] for i in rng.choice(len(asked), size=queries, replace=False)]
    query_vectors = np.stack([embedder.encode_query(q) for q in chosen])
    np.savez(path, corpus=corpus, queries=query_vectors)
    return corpus, query_vectors


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(len(set(found.tolist()) & set(truth.tolist())) / max(len(truth), 1))


def main(options: Options) -> None:
    run = Run("hnsw_recall", options)
    limit, queries = (1_500, 30) if options.quick else (60_000, 500)
    corpus, asked = embeddings(options, limit, queries)
    ids = np.arange(len(corpus), dtype=np.int64)
    exact = DenseIndex.build(ids, corpus, corpus.shape[1], exact_limit=10**9)
    started = time.perf_counter()
    graph = DenseIndex.build(ids, corpus, corpus.shape[1], exact_limit=0)
    build = time.perf_counter() - started
    truth = [exact.search(q, 100)[0] for q in asked]
    rows: list[dict[str, Any]] = []
    default_ef = dense_module.HNSW_EF_SEARCH
    for ef in (32, 64, 128, 256):
        dense_module.HNSW_EF_SEARCH = ef
        laps, r10, r100 = [], [], []
        for q, t in zip(asked, truth, strict=True):
            started = time.perf_counter()
            found = graph.search(q, 100)[0]
            laps.append(time.perf_counter() - started)
            r100.append(recall(found, t))
            r10.append(recall(graph.search(q, 10)[0], t[:10]))
        rows.append(
            {
                "ef_search": ef,
                "recall@10": round(float(np.mean(r10)), 4),
                "recall@100": round(float(np.mean(r100)), 4),
                "latency_k100": summary_ms(laps),
                "default": ef == default_ef,
            }
        )
        run.note(f"efSearch {ef}: recall@10 {rows[-1]['recall@10']}, @100 {rows[-1]['recall@100']}")
    dense_module.HNSW_EF_SEARCH = default_ef
    run.results.update(
        vectors=len(corpus),
        queries=len(asked),
        m=dense_module.HNSW_M,
        ef_construction=dense_module.HNSW_EF_CONSTRUCTION,
        build_seconds=round(build, 1),
        by_ef=rows,
        note="engine searches ask for 100 candidates, so efSearch is at least 100 in use",
    )
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
