"""Does answering "as of when it was asked" help? `newsdesk eval --time both` on the news dev
set (bench/news: 64 dated articles written for newsdesk, 14 of them long, 132 questions with
`asked_at`), with the default encoder, in every mode: each question asked as of its
`asked_at` (articles published later hidden, "latest" and "on Tuesday" meaning then) and
with dates playing no part. Records the questions each row misses, for looking at what
passage choice gets wrong."""

from __future__ import annotations

import time
from typing import Any

from bench.common import MODES, REPO, EvalSet, Run, indexed, parse_args

NEWS = REPO / "bench" / "news"


def news_set() -> EvalSet:
    return EvalSet("news", NEWS / "articles.jsonl", (NEWS / "queries.jsonl",))


def main(options: Any) -> None:
    from retrieval.evaluation import contains_answer, evaluate_as_of, load_queries
    from retrieval.settings import RetrievalSettings

    run = Run("news_time", options)
    backend = RetrievalSettings(_env_file=None).embedding_backend  # type: ignore[call-arg]
    evalset = news_set()
    started = time.perf_counter()
    engine = indexed(options, backend, evalset)
    built = time.perf_counter() - started
    queries = load_queries(list(evalset.queries))
    rows: dict[str, dict[str, Any]] = {}
    misses: dict[str, list[dict[str, Any]]] = {}
    for mode in MODES:
        for aware in (True, False):
            label = f"{mode}/{'aware' if aware else 'ignore'}"
            missed: list[dict[str, Any]] = []

            def search(question: str, at: Any, mode: str = mode, aware: bool = aware) -> Any:
                return engine.search(question, k=10, mode=mode, at=at, time_aware=aware)

            rows[label] = evaluate_as_of(queries, search, time_aware=aware).as_json()
            for query in queries:  # again, to name the misses (questions are encoded once)
                result = search(query.question, query.asked_at if aware else None)
                excerpts = [h.excerpt for h in result.hits]
                first = result.ranked_article_ids[:1] if not result.abstained else []
                answered = contains_answer(excerpts[:1], query.answers)
                if query.answerable and (answered and first and first[0] in query.relevant):
                    continue
                if not query.answerable and result.abstained:
                    continue
                missed.append(
                    {
                        "qid": query.qid,
                        "question": query.question,
                        "asked_at": query.asked_at.isoformat() if query.asked_at else None,
                        "relevant": list(query.relevant),
                        "first": first[0] if first else None,
                        "abstained": result.abstained,
                        "ans@1": answered,
                        "ans@5": contains_answer(excerpts[:5], query.answers),
                    }
                )
            misses[label] = missed
            run.note(f"{label}: {rows[label]}")
    run.results.update(
        backend=backend,
        set=evalset.name,
        articles=len(engine.snapshot.articles),
        questions=len(queries),
        index_seconds=round(built, 1),
        rows=rows,
        misses=misses,
    )
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
