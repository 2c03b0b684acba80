"""How does newsdesk compare with what a user would pick instead? txtai (`Embeddings`, hybrid
on) and a LangChain FAISS vector store, both on the same packaged MiniLM, the same machine
and the same passages (newsdesk's chunks; newsdesk indexes the whole articles itself): build
time, query latency, cold start to a first answer, peak RSS, Ans@5 and Hit@5 on SQuAD.

Every system runs in its own process (bench.peer_probe) so memory and start-up are its own.
Peers run torch with its default threads, as their users would; newsdesk runs its defaults.
The peers come with the bench extra (`pip install -e '.[bench]'`); a peer that is not
installed is recorded as skipped, with the reason, and the rest still run.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import sys
from typing import Any

from bench.common import (
    QUICK_ARTICLES,
    REPO,
    Options,
    Run,
    load_embedder,
    newsdesk_env,
    parse_args,
    read_jsonl,
    squad_set,
    timed_process,
    write_jsonl,
)
from bench.peer_probe import SYSTEMS

# The modules each peer needs (from the bench extra); newsdesk needs none beyond its own.
REQUIRES = {
    "newsdesk": (),
    "txtai": ("txtai",),
    "langchain": ("langchain_community", "langchain_core"),
}
INSTALL = "pip install -e '.[bench]'"


def missing(system: str) -> str | None:
    """Why `system` can't run here, or None (looked up, not imported: importing txtai takes
    seconds; a broken install shows as the probe's error instead)."""
    for module in REQUIRES[system]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"not installed: {INSTALL} (no module named {module!r})"
    return None


def chunk_rows(options: Options, articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from retrieval.documents import Article
    from retrieval.text.chunking import ChunkerSettings, chunk_article, embedding_text

    counter = load_embedder("onnx-int8", options)
    settings = ChunkerSettings(256, 64, counter.max_tokens)
    rows = []
    for row in articles:
        article = Article(id=row["id"], title=row["title"], text=row["text"])
        for chunk in chunk_article(article, settings, counter.count_tokens):
            rows.append(
                {
                    "id": f"{article.id}#{chunk.ordinal}",
                    "article": article.id,
                    "text": embedding_text(article.title, chunk.text),
                }
            )
    return rows


def probe(options: Options, *args: str) -> tuple[dict[str, Any], float, float]:
    env = newsdesk_env(options) | {"PYTHONPATH": str(REPO)}
    script = str(REPO / "bench" / "peer_probe.py")
    done = timed_process([script, *args], env, options.cache)
    if done.returncode != 0:
        raise RuntimeError(f"peer probe {args[:2]} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.seconds, done.peak_rss_mb


def main(options: Options) -> None:
    run = Run("peers", options)
    evalset = squad_set(options, QUICK_ARTICLES if options.quick else 16, with_ood=False)
    articles = read_jsonl(evalset.articles)
    queries = read_jsonl(evalset.queries[0])[: 40 if options.quick else 500]
    work = options.cache / "peers"
    shutil.rmtree(work, ignore_errors=True)
    chunks = write_jsonl(work / "chunks.jsonl", chunk_rows(options, articles))
    asked = write_jsonl(work / "queries.jsonl", queries)
    question = queries[0]["question"]
    table: dict[str, Any] = {}
    for system in SYSTEMS:
        folder = work / system
        reason = missing(system)
        if reason is not None:
            table[system] = {"skipped": reason}
            run.note(f"{system} skipped: {reason}")
            continue
        try:
            built, _, build_rss = probe(
                options, system, "build", str(folder), str(evalset.articles), str(chunks)
            )
            colds = [
                probe(options, system, "cold", str(folder), question)[1]
                for _ in range(1 if options.quick else 3)
            ]
            answered, _, query_rss = probe(options, system, "query", str(folder), str(asked))
        except RuntimeError as exc:
            table[system] = {"error": str(exc)[-1500:]}
            run.note(f"{system} failed: {str(exc)[-300:]}")
            continue
        table[system] = {
            "build_seconds": built["seconds"],
            "chunks": built["chunks"],
            "chunks_per_s": round(built["chunks"] / built["seconds"], 2),
            "build_peak_rss_mb": round(build_rss, 1),
            "cold_start_s": round(statistics.median(colds), 3),
            "query_p50_ms": answered["p50_ms"],
            "query_p95_ms": answered["p95_ms"],
            "serving_peak_rss_mb": round(query_rss, 1),
            "ans@5": answered["ans@5"],
            "hit@5": answered["hit@5"],
            "queries": answered["queries"],
        }
        run.note(f"{system}: {table[system]}")
    run.results.update(set=evalset.name, articles=len(articles), systems=table)
    run.results["python"] = sys.version.split()[0]
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
