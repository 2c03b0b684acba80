"""`newsdesk eval`: index a test collection (temporary or kept) and score the questions."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.compose import Composition
from bot.console import ProgressBar
from retrieval.evaluation import evaluate, load_queries
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
) -> dict[str, dict[str, Any]]:
    queries = load_queries(query_paths)[:limit]
    settings = root.settings
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
        results: dict[str, dict[str, Any]] = {}
        for mode in modes:
            with ProgressBar(enabled=show_progress) as bar:
                bar.start(len(queries), f"{mode} queries")
                report = evaluate(
                    queries,
                    lambda q, m=mode: engine.search(q, k=10, mode=m, abstain=abstain),  # type: ignore[misc]
                    on_query=bar.advance,
                )
            results[mode] = report.as_json()
    return results


def format_table(results: dict[str, dict[str, Any]]) -> str:
    header = ["mode", *METRICS]
    rows = [header]
    for mode, metrics in results.items():
        rows.append([mode] + ["-" if metrics.get(m) is None else str(metrics[m]) for m in METRICS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
