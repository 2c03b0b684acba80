"""Does a follow-up find its article when searched with the conversation before it? The
hand-written pairs in bench/news/followups.jsonl, on the news dev set, default encoder,
hybrid: each first question is answered, then its follow-up is searched (a) alone and (b)
with `FollowUpContext(questions=(first,), cited=<the first answer's top articles>)`.
Elliptic follow-ups ("When did it reopen?") should gain; standalone ones (a full question
on another story) must not lose. Dates play no part (`time_aware=False`): this measures the
context, not the time rules."""

from __future__ import annotations

import time
from typing import Any

from bench.common import REPO, Options, Run, indexed, parse_args, read_jsonl
from bench.news_time import news_set

PAIRS = REPO / "bench" / "news" / "followups.jsonl"
K = 5  # MRR@5: the page a reader sees
CITED = 3  # articles of the first answer passed on as cited (what the bot cites)
QUICK_PAIRS = 8


def first_rank(ranked: list[str], relevant: set[str], k: int = K) -> int | None:
    """1-based rank of the first relevant article id in the top k, None if none."""
    for rank, article in enumerate(ranked[:k], start=1):
        if article in relevant:
            return rank
    return None


def scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    ranks = [r["rank"] for r in rows]
    return {
        "n": n,
        "hit@1": round(sum(1 for x in ranks if x == 1) / n, 3) if n else None,
        "mrr@5": round(sum(1 / x for x in ranks if x) / n, 3) if n else None,
        "abstained": sum(1 for r in rows if r["abstained"]),
    }


def main(options: Options) -> None:
    from retrieval.search.followup import FollowUpContext
    from retrieval.settings import RetrievalSettings

    run = Run("followups", options)
    backend = RetrievalSettings(_env_file=None).embedding_backend  # type: ignore[call-arg]
    evalset = news_set()
    started = time.perf_counter()
    engine = indexed(options, backend, evalset)
    built = time.perf_counter() - started
    pairs = read_jsonl(PAIRS)
    if options.quick:  # both kinds, a few of each
        pairs = [p for p in pairs if p["kind"] == "elliptic"][: QUICK_PAIRS // 2] + [
            p for p in pairs if p["kind"] == "standalone"
        ][: QUICK_PAIRS // 2]

    def search(question: str, context: Any = None) -> Any:
        return engine.search(question, k=10, time_aware=False, cut=False, context=context)

    per_pair: list[dict[str, Any]] = []
    for pair in pairs:
        first = search(pair["first"])
        cited = (
            tuple(dict.fromkeys(first.ranked_article_ids))[:CITED] if not first.abstained else ()
        )
        relevant = set(pair["relevant"])
        row: dict[str, Any] = {
            "id": pair["id"],
            "kind": pair["kind"],
            "follow_up": pair["follow_up"],
            "first_rank": first_rank(first.ranked_article_ids, set(pair["first_relevant"]))
            if not first.abstained
            else None,
            "cited": list(cited),
        }
        for label, context in (
            ("without", None),
            ("with", FollowUpContext(questions=(pair["first"],), cited=cited)),
        ):
            result = search(pair["follow_up"], context)
            ranked = [] if result.abstained else result.ranked_article_ids
            row[label] = {
                "rank": first_rank(ranked, relevant),
                "abstained": result.abstained,
                "reason": result.reason,
                "top": ranked[:1],
                "context_weight": result.context_weight,
            }
        per_pair.append(row)
    table: dict[str, dict[str, Any]] = {}
    for kind in ("elliptic", "standalone"):
        for label in ("without", "with"):
            table[f"{kind}/{label}"] = scores([r[label] for r in per_pair if r["kind"] == kind])
        run.note(f"{kind}: without {table[f'{kind}/without']}, with {table[f'{kind}/with']}")
    firsts = [r["first_rank"] for r in per_pair]
    run.results.update(
        backend=backend,
        set=evalset.name,
        mode="hybrid",
        pairs=len(per_pair),
        cited_per_first=CITED,
        index_seconds=round(built, 1),
        first_hit1=round(sum(1 for x in firsts if x == 1) / len(firsts), 3),
        rows=table,
        per_pair=per_pair,
    )
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
