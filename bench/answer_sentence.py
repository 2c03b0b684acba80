"""Is the sentence shown in bold the one that answers? On SQuAD whole articles (the
packaged model, the default encoder), each answerable question asked once (abstention off,
so the choice is measured on its own), and over the hits whose excerpt holds a gold answer:
how often the bold sentence holds it too. `bold@1`: the first hit's bold sentence holds the
answer, over all questions; `bold_in_excerpt@1`: the same over the questions whose first
excerpt holds it; `bold_in_excerpt@5`: over every hit of the first five whose excerpt holds
it.

python -m bench.answer_sentence [--quick]
"""

from __future__ import annotations

from typing import Any

from bench.common import Options, Run, open_index, parse_args, prepared_index, quick_or_full_squad
from retrieval.evaluation import contains_answer, load_queries


def measure(engine: Any, queries: list[Any]) -> dict[str, Any]:
    first = first_with = every = every_with = 0
    for query in queries:
        result = engine.search(query.question, k=5, abstain=False)
        for rank, hit in enumerate(result.hits):
            if not contains_answer([hit.excerpt], query.answers):
                continue
            bold = contains_answer([hit.highlight], query.answers)
            every_with += 1
            every += bold
            if rank == 0:
                first_with += 1
                first += bold
    return {
        "questions": len(queries),
        "bold@1": round(first / len(queries), 4) if queries else None,
        "bold_in_excerpt@1": round(first / first_with, 4) if first_with else None,
        "bold_in_excerpt@5": round(every / every_with, 4) if every_with else None,
        "first_excerpts_with_answer": first_with,
        "excerpts_with_answer": every_with,
    }


def main(options: Options) -> None:
    from retrieval.settings import RetrievalSettings

    run = Run("answer_sentence", options)
    backend = RetrievalSettings(_env_file=None).embedding_backend  # type: ignore[call-arg]
    evalset = quick_or_full_squad(options, with_ood=False)
    engine = open_index(options, backend, prepared_index(options, backend, evalset))
    queries = [q for q in load_queries([evalset.queries[0]]) if q.answers]
    run.results = {"backend": backend, "set": evalset.name, **measure(engine, queries)}
    run.note(f"{run.results}")
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
