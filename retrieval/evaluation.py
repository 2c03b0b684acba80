"""Retrieval metrics as defined in the shared evaluation README (Ans@k, Hit@k, MRR, nDCG).

A query may say when it is asked (`asked_at`, an ISO 8601 date or datetime): evaluated with
time-awareness, it is answered as of that moment (articles published later are invisible,
and "latest", "this week" or "on Tuesday" mean then). A date without a time means the end of
that day, UTC: a question "asked on 9 April" sees everything published that day.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import QueriesFileError
from retrieval.search.results import SearchResult

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}‘’“”–—]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Query:
    qid: str
    question: str
    relevant: tuple[str, ...]
    answers: tuple[str, ...] = ()
    gains: dict[str, float] = field(default_factory=dict)
    asked_at: dt.datetime | None = None  # timezone-aware; None: asked now

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)


def load_queries(paths: Iterable[Path]) -> list[Query]:
    queries: list[Query] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise QueriesFileError(f"cannot read queries file {path}: {exc.strerror}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                queries.append(
                    Query(
                        qid=str(row["qid"]),
                        question=str(row["question"]),
                        relevant=tuple(str(r) for r in row.get("relevant_article_ids", [])),
                        answers=tuple(str(a) for a in row.get("answers", []) or []),
                        gains={str(k): float(v) for k, v in (row.get("relevance") or {}).items()},
                        asked_at=parse_asked_at(row.get("asked_at")),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise QueriesFileError(f"{path}:{number}: not a query line ({exc})") from exc
    if not queries:
        raise QueriesFileError("no queries found in the given files")
    return queries


def parse_asked_at(value: object) -> dt.datetime | None:
    """A query's `asked_at`: an ISO 8601 datetime (no offset: UTC), or a date, which means
    the end of that day in UTC (its last microsecond). None when absent; ValueError for
    anything else (a relative "yesterday" says nothing about when a question was asked)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"asked_at {value!r} is not an ISO 8601 date or datetime")
    text = value.strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if len(text) <= 10:  # a date alone, not a datetime fromisoformat also reads as a date
            return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"asked_at {value!r} is not an ISO 8601 date or datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def normalize_answer(text: str) -> str:
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.casefold())).strip()


def contains_answer(excerpts: Sequence[str], answers: Sequence[str]) -> bool:
    wanted = [normalize_answer(a) for a in answers if normalize_answer(a)]
    return any(f" {a} " in f" {normalize_answer(text)} " for text in excerpts for a in wanted)


def ndcg_at(ranked: Sequence[str], query: Query, k: int) -> float:
    gains = query.gains or {r: 1.0 for r in query.relevant}
    dcg = sum(gains.get(a, 0.0) / math.log2(i + 2) for i, a in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


@dataclass
class EvalReport:
    queries: int = 0
    answerable: int = 0
    unanswerable: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    abstained_unanswerable: int = 0
    abstained_answerable: int = 0
    with_answers: int = 0
    dated: int = 0  # queries with an asked_at
    time_aware: bool = False  # whether they were answered as of it

    def add(self, name: str, value: float) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + value

    def as_json(self) -> dict[str, float | int | str | None]:
        def mean(name: str, over: int) -> float | None:
            return round(self.sums.get(name, 0.0) / over, 4) if over else None

        return {
            "ans@1": mean("ans@1", self.with_answers),
            "ans@5": mean("ans@5", self.with_answers),
            "hit@1": mean("hit@1", self.answerable),
            "hit@5": mean("hit@5", self.answerable),
            "hit@10": mean("hit@10", self.answerable),
            "mrr@10": mean("mrr@10", self.answerable),
            "ndcg@10": mean("ndcg@10", self.answerable),
            "abstained": (
                round(self.abstained_unanswerable / self.unanswerable, 4)
                if self.unanswerable
                else None
            ),
            "abstained_answerable": (
                round(self.abstained_answerable / self.answerable, 4) if self.answerable else None
            ),
            "queries": self.queries,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "dated": self.dated,
            "time": "aware" if self.time_aware else "ignore",
        }


def evaluate(
    queries: Sequence[Query],
    search: Callable[[str], SearchResult],
    *,
    on_query: Callable[[], None] | None = None,
) -> EvalReport:
    """Runs every query through `search` (which should return >= 5 hits when it answers),
    as of now: `asked_at` is not used."""
    return evaluate_as_of(
        queries, lambda question, _at: search(question), time_aware=False, on_query=on_query
    )


def evaluate_as_of(
    queries: Sequence[Query],
    search: Callable[[str, dt.datetime | None], SearchResult],
    *,
    time_aware: bool,
    on_query: Callable[[], None] | None = None,
) -> EvalReport:
    """Runs every query through `search(question, at)`: `at` is the query's `asked_at` when
    `time_aware` (None for a query without one: asked now), else None, and `search` should
    then leave dates out (`newsdesk eval` passes `time_aware=False` to the engine)."""
    report = EvalReport(time_aware=time_aware)
    for query in queries:
        result = search(query.question, query.asked_at if time_aware else None)
        report.queries += 1
        report.dated += int(query.asked_at is not None)
        if on_query is not None:
            on_query()
        if not query.answerable:
            report.unanswerable += 1
            report.abstained_unanswerable += int(result.abstained)
            continue
        report.answerable += 1
        ranked = [] if result.abstained else result.ranked_article_ids
        report.abstained_answerable += int(result.abstained)
        relevant = set(query.relevant)
        first = next((i for i, a in enumerate(ranked[:10]) if a in relevant), None)
        for k in (1, 5, 10):
            report.add(f"hit@{k}", float(first is not None and first < k))
        report.add("mrr@10", 0.0 if first is None else 1.0 / (first + 1))
        report.add("ndcg@10", ndcg_at(ranked, query, 10))
        if query.answers:
            report.with_answers += 1
            excerpts = [h.excerpt for h in result.hits]
            for k in (1, 5):
                report.add(f"ans@{k}", float(contains_answer(excerpts[:k], query.answers)))
    return report
