"""How long does one question take, question in to cited hits out (`engine.search`: encode,
dense, BM25, fusion, rerank, highlighting), at 10k, 100k and 1M chunks, split by step? And
what does a date window add (`time_windows`: a week, half a year, and "as of" a past day,
over articles published across two years), against the same questions without one?

Scale comes from a synthetic collection (bench/synthetic.py: random low-rank unit vectors,
BM25 postings drawn from SQuAD's word distribution); questions are real SQuAD questions and
the encoder is the real model. All on one thread, as the engine runs questions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import numpy as np

from bench.common import EVAL, Options, Run, load_embedder, parse_args, read_jsonl, summary_ms
from bench.synthetic import CHUNKS_PER_ARTICLE, snapshot
from retrieval.dates import TimeWindow
from retrieval.search.params import TimeParams
from retrieval.search.pipeline import SearchParams, search_snapshot
from retrieval.settings import RetrievalSettings
from retrieval.text.analyzer import Analyzer

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def questions(count: int) -> list[str]:
    rows = read_jsonl(EVAL / "squad" / "queries_full.jsonl")
    return [r["question"] for r in rows[:count]]


def encode_latency(options: Options, asked: list[str]) -> dict[str, Any]:
    """Question encoding alone, per backend (one thread each)."""
    out = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        embedder = load_embedder(backend, options)
        for q in asked[:5]:
            embedder.encode_query(q)
        laps = []
        for q in asked:
            started = time.perf_counter()
            embedder.encode_query(q)
            laps.append(time.perf_counter() - started)
        out[backend] = summary_ms(laps)
    return out


def measure(snap: Any, embedder: Any, analyzer: Analyzer, asked: list[str]) -> dict[str, Any]:
    settings = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    params = SearchParams.from_settings(settings)
    totals: list[float] = []
    steps: dict[str, list[float]] = {}
    for i, question in enumerate([*asked[:5], *asked]):
        started = time.perf_counter()
        result = search_snapshot(
            snap, question, params, encode_query=embedder.encode_query, analyzer=analyzer
        )
        elapsed = time.perf_counter() - started
        if i < 5:
            continue  # warm-up
        totals.append(elapsed)
        for name, ms in result.timings_ms.items():
            steps.setdefault(name, []).append(ms / 1000)
    # The retrieve step holds dense, BM25 and fusion scoring; time the first two alone.
    dense_laps, bm25_laps = [], []
    for question in asked:
        vector = embedder.encode_query(question)
        tokens = analyzer.tokens([question])[0]
        started = time.perf_counter()
        snap.dense.search(vector, params.candidates)
        dense_laps.append(time.perf_counter() - started)
        started = time.perf_counter()
        scores = snap.lexical.scores(tokens)
        snap.lexical.search(tokens, params.candidates, scores)
        bm25_laps.append(time.perf_counter() - started)
    return {
        "total": summary_ms(totals),
        "steps": {name: summary_ms(laps) for name, laps in steps.items()},
        "dense_search": summary_ms(dense_laps),
        "bm25_search": summary_ms(bm25_laps),
    }


# The synthetic articles' dates: evenly spread over two years before this moment.
DATED_SPAN_DAYS = 730
WINDOWS_DAYS = {"week": 7, "half_year": 182}


def dated(snap: Any) -> Any:
    """The snapshot with every article published on a day of the last two years."""
    rng = np.random.default_rng(7)
    articles = len(snap.chunks) // CHUNKS_PER_ARTICLE + 1
    end = NOW.timestamp()
    days = rng.integers(0, DATED_SPAN_DAYS, size=articles)
    article_times = end - days * 86_400.0
    published = np.repeat(article_times, CHUNKS_PER_ARTICLE)[: len(snap.chunks)]
    chunks = dataclasses.replace(snap.chunks, published=published.astype(np.float64))
    return dataclasses.replace(snap, chunks=chunks)


def window_latency(
    snap: Any, embedder: Any, analyzer: Analyzer, asked: list[str]
) -> dict[str, Any]:
    """Total latency per question with each kind of window, and without, interleaved
    question by question so that a busy moment of the machine hits every kind alike; the
    difference of the p95s is what a window costs."""
    settings = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    base = SearchParams.from_settings(settings)
    kinds: dict[str, SearchParams] = {"none": base}
    for name, days in WINDOWS_DAYS.items():
        window = TimeWindow(NOW - dt.timedelta(days=days), NOW)
        kinds[name] = dataclasses.replace(base, time=TimeParams(now=NOW, window=window))
    past = NOW - dt.timedelta(days=DATED_SPAN_DAYS // 2)
    kinds["as_of_a_year_ago"] = dataclasses.replace(
        base, time=TimeParams(now=past, hide_after_now=True)
    )
    laps: dict[str, list[float]] = {name: [] for name in kinds}
    for i, question in enumerate([*asked[:5], *asked]):
        for name, params in kinds.items():
            started = time.perf_counter()
            search_snapshot(
                snap, question, params, encode_query=embedder.encode_query, analyzer=analyzer
            )
            if i >= 5:  # warm-up
                laps[name].append(time.perf_counter() - started)
    summaries = {name: summary_ms(values) for name, values in laps.items()}
    none_p95 = summaries["none"]["p95"]
    return summaries | {
        "p95_added_ms": {
            name: round(summary["p95"] - none_p95, 3)
            for name, summary in summaries.items()
            if name != "none"
        }
    }


def main(options: Options) -> None:
    run = Run("query_latency", options)
    scales = (10_000,) if options.quick else (10_000, 100_000, 1_000_000)
    asked = questions(40 if options.quick else 300)
    analyzer = Analyzer()
    settings = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    backend = settings.embedding_backend
    run.results["encode_by_backend"] = encode_latency(options, asked)
    medians = {k: v["p50"] for k, v in run.results["encode_by_backend"].items()}
    run.note(f"encode p50 by backend (ms): {medians}")
    embedder = load_embedder(backend, options)
    run.results.update(backend=backend, questions=len(asked), synthetic=True, scales={})
    for count in scales:
        snap, meta = snapshot(
            count, options.cache, analyzer, exact_limit=settings.dense_exact_limit
        )
        row = measure(snap, embedder, analyzer, asked) | {"fixture": meta}
        if snap.dense.kind == "hnsw":
            exact = _exact_dense(snap, embedder, asked, settings.candidates)
            row["dense_search_if_exact"] = exact
        row["time_windows"] = window_latency(dated(snap), embedder, analyzer, asked[:150])
        run.results["scales"][str(count)] = row
        run.note(
            f"{count} chunks ({snap.dense.kind}): p50 {row['total']['p50']} ms, "
            f"p95 {row['total']['p95']} ms; a window adds (p95, ms) "
            f"{row['time_windows']['p95_added_ms']}"
        )
        del snap
    run.write()


def _exact_dense(snap: Any, embedder: Any, asked: list[str], k: int) -> dict[str, float]:
    """What exact search would cost at this size (the reason for HNSW above the limit)."""
    from retrieval.index.dense import DenseIndex

    flat = DenseIndex.build(snap.chunks.ids, snap.vectors, snap.vectors.shape[1], exact_limit=10**9)
    laps = []
    for question in asked[:100]:
        vector = embedder.encode_query(question)
        started = time.perf_counter()
        flat.search(vector, k)
        laps.append(time.perf_counter() - started)
    del flat
    return summary_ms(laps)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(parse_args(__doc__ or ""))
