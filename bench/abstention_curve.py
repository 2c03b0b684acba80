"""Where should "no good match" start? For thresholds from 0 to 0.4: Ans@5 on answerable SQuAD
questions (an abstention counts as a miss) against the share abstained on the off-topic
Cranfield questions and on SQuAD 2.0's unanswerable ones, with the default marked. Each
question is searched once; its confidence decides every threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import EVAL, Options, Run, load_embedder, parse_args, prepared_index, squad_set
from retrieval.evaluation import contains_answer, load_queries


def main(options: Options) -> None:
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings

    run = Run("abstention_curve", options)
    defaults = RetrievalSettings(_env_file=None)  # type: ignore[call-arg]
    backend = defaults.embedding_backend
    evalset = squad_set(options, 3 if options.quick else None)
    index = prepared_index(options, backend, evalset)
    settings = defaults.model_copy(update={"index_dir": index})
    engine = Engine(settings, load_embedder(backend, options)).open(create=False)
    limit = 100 if options.quick else None
    answerable = load_queries([evalset.queries[0]])[:limit]
    groups = {
        "out_of_domain": load_queries(
            [EVAL / "out_of_domain" / "cranfield_questions_for_squad.jsonl"]
        ),
        "squad_unanswerable": load_queries([EVAL / "squad" / "queries_unanswerable.jsonl"]),
    }
    groups = {k: v[: 50 if options.quick else None] for k, v in groups.items()}

    answered_conf, answered_hit = [], []
    for query in answerable:
        result = engine.search(query.question, k=5, abstain=False)
        answered_conf.append(result.confidence)
        answered_hit.append(contains_answer([h.excerpt for h in result.hits], query.answers))
    other_conf = {
        name: np.array([engine.search(q.question, k=5, abstain=False).confidence for q in rows])
        for name, rows in groups.items()
    }
    confidence = np.array(answered_conf)
    hits = np.array(answered_hit, dtype=bool)
    curve: list[dict[str, Any]] = []
    for threshold in np.round(np.arange(0.0, 0.401, 0.01), 3):
        kept = confidence >= threshold
        row = {
            "threshold": float(threshold),
            "ans@5": round(float((hits & kept).mean()), 4),
            "abstained_answerable": round(float((~kept).mean()), 4),
        }
        for name, values in other_conf.items():
            row[f"abstained_{name}"] = round(float((values < threshold).mean()), 4)
        curve.append(row)
    default = defaults.abstain_threshold
    at_default = min(curve, key=lambda r: abs(r["threshold"] - default))
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
