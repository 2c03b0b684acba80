"""Where should "no good match" start? For thresholds from 0 to 0.4: Ans@5 on answerable SQuAD
questions (an abstention counts as a miss) against the share abstained on the off-topic
Cranfield questions and on SQuAD 2.0's unanswerable ones, with the default marked. Each
question is searched once (one worker process per core); its confidence decides every
threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import (
    EVAL,
    Options,
    Run,
    open_index,
    parallel_map,
    parse_args,
    prepared_index,
    quick_or_full_squad,
)
from retrieval.evaluation import contains_answer, load_queries


def confidences(
    options: Options, backend: str, index: Any, asked: list[tuple[str, tuple[str, ...]]]
) -> list[tuple[float, bool]]:
    """Confidence of each question, and whether its top 5 hold an answer (a worker)."""
    engine = open_index(options, backend, index)
    out = []
    for question, answers in asked:
        result = engine.search(question, k=5, abstain=False)
        hit = bool(answers) and contains_answer([h.excerpt for h in result.hits], answers)
        out.append((float(result.confidence), hit))
    return out


def main(options: Options) -> None:
    from retrieval.settings import RetrievalSettings

    run = Run("abstention_curve", options)
    defaults = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    backend = defaults.embedding_backend
    evalset = quick_or_full_squad(options)
    index = prepared_index(options, backend, evalset)
    limit = 100 if options.quick else None
    answerable = load_queries([evalset.queries[0]])[:limit]
    groups = {
        "out_of_domain": load_queries(
            [EVAL / "out_of_domain" / "cranfield_questions_for_squad.jsonl"]
        ),
        "squad_unanswerable": load_queries([EVAL / "squad" / "queries_unanswerable.jsonl"]),
    }
    groups = {k: v[: 50 if options.quick else None] for k, v in groups.items()}

    # Every question once, split between one worker per core.
    asked = [(q.question, q.answers) for q in answerable]
    asked += [(q.question, ()) for rows in groups.values() for q in rows]
    halves = [asked[i::2] for i in range(2)]
    parts = parallel_map(confidences, [(options, backend, index, half) for half in halves])
    scored: list[tuple[float, bool]] = [(0.0, False)] * len(asked)
    for i, part in enumerate(parts):
        scored[i::2] = part
    confidence = np.array([c for c, _ in scored[: len(answerable)]])
    hits = np.array([h for _, h in scored[: len(answerable)]], dtype=bool)
    other_conf, begin = {}, len(answerable)
    for name, rows in groups.items():
        other_conf[name] = np.array([c for c, _ in scored[begin : begin + len(rows)]])
        begin += len(rows)
    default = defaults.abstain_threshold
    # The grid plus the default itself, so the figure reported for it is measured, not the
    # nearest grid point's.
    thresholds = sorted({*np.round(np.arange(0.0, 0.401, 0.01), 3).tolist(), default})
    curve: list[dict[str, Any]] = []
    for threshold in thresholds:
        kept = confidence >= threshold
        row = {
            "threshold": float(threshold),
            "ans@5": round(float((hits & kept).mean()), 4),
            "abstained_answerable": round(float((~kept).mean()), 4),
        }
        for name, values in other_conf.items():
            row[f"abstained_{name}"] = round(float((values < threshold).mean()), 4)
        curve.append(row)
    at_default = next(r for r in curve if r["threshold"] == default)
    run.results.update(
        backend=backend,
        set=evalset.name,
        answerable=len(answerable),
        unanswerable={k: len(v) for k, v in groups.items()},
        default_threshold=default,
        at_default=at_default,
        curve=curve,
    )
    run.note(f"at the default {default}: {at_default}")
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
