"""`newsdesk eval`: index a test collection (temporary or kept) and score the questions,
each as of when it is asked (its `asked_at`), without that, or both."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from bot.compose import Composition
from bot.console import ProgressBar
from retrieval.engine import check_question
from retrieval.errors import QueriesFileError, QuestionError
from retrieval.evaluation import Query, evaluate_as_of, load_queries
from retrieval.loaders import load_file, load_folder

logger = logging.getLogger(__name__)
METRICS = (
    "ans@1",
    "ans@5",
    "hit@1",
    "hit@5",
    "hit@10",
    "mrr@10",
    "ndcg@10",
    "abstained",
    "abstained_answerable",
    "queries",
)
TimeChoice = Literal["aware", "ignore", "both"]
TIMES: dict[str, tuple[bool, ...]] = {"aware": (True,), "ignore": (False,), "both": (True, False)}


def time_rows(queries: Sequence[Query], choice: TimeChoice | None) -> tuple[bool, ...]:
    """Which rows to report: with time-awareness (True: each question as of its asked_at,
    dates and time words in play as users get them, as of now for a query without one),
    without (False: `time_aware=False`, dates play no part). Not chosen: both when any query
    says when it is asked, else only with (what users get)."""
    if choice is None:
        choice = "both" if any(q.asked_at is not None for q in queries) else "aware"
    return TIMES[choice]


def run_evaluation(
    root: Composition,
    *,
    articles_path: Path,
    query_paths: Sequence[Path],
    modes: Sequence[str],
    index_dir: Path | None,
    abstain: bool,
    threshold: float | None,
    limit: int | None,
    show_progress: bool,
    time: TimeChoice | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Metrics by mode, then by "aware" / "ignore": each question asked as of its `asked_at`
    (articles published later hidden, time words meaning then), or with dates playing no
    part (the whole collection, no time words)."""
    queries = load_queries(query_paths)[:limit]
    rows = time_rows(queries, time)
    settings = root.settings
    # The engine's one question limit, before the articles are indexed: a question it would
    # refuse is named now, not after minutes of indexing.
    for query in queries:
        try:
            check_question(query.question, settings.max_question_chars)
        except QuestionError as exc:
            raise QueriesFileError(f"question {query.qid}: {exc}") from None
    if threshold is not None:
        settings = settings.model_copy(update={"abstain_threshold": threshold})
    # The encoder (and its cached ONNX export) is the root's, from the configured index
    # folder, not the scratch one: an evaluation doesn't export the model again.
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as scratch:
        settings = settings.model_copy(update={"index_dir": index_dir or Path(scratch) / "index"})
        if articles_path.is_dir():
            articles = load_folder(articles_path, max_bytes=settings.max_article_bytes).articles
        else:
            articles = load_file(articles_path, max_bytes=settings.max_article_bytes)
        with ProgressBar(enabled=show_progress) as bar:
            # The articles given are the whole collection: a kept index from other settings
            # (or an older newsdesk) is simply built again.
            engine = root.rebuild(
                articles=articles,
                settings=settings,
                progress=bar,
                on_full_rebuild=lambda differences: logger.warning(
                    "rebuilding %s in full: %s", settings.index_dir, differences
                ),
            ).engine
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for mode in modes:
            for aware in rows:
                with ProgressBar(enabled=show_progress) as bar:
                    bar.start(len(queries), f"{mode} queries{', as asked' if aware else ''}")
                    report = evaluate_as_of(
                        queries,
                        lambda q, at, m=mode, aware=aware: engine.search(  # type: ignore[misc]
                            # The ranking, not the page cut shown to readers.
                            q,
                            k=10,
                            mode=m,
                            abstain=abstain,
                            at=at,
                            time_aware=aware,
                            cut=False,
                        ),
                        time_aware=aware,
                        on_query=bar.advance,
                    )
                results.setdefault(mode, {})["aware" if aware else "ignore"] = report.as_json()
    return results


def format_table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    header = ["mode", "time", *METRICS]
    rows = [header]
    for mode, by_time in results.items():
        for time, metrics in by_time.items():
            rows.append(
                [mode, time] + ["-" if metrics.get(m) is None else str(metrics[m]) for m in METRICS]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
