"""Do the ONNX backends find what torch finds? For every shared-set question, the overlap of
the top-5 excerpts (article and span) between torch and each ONNX backend, in dense mode (the
strictest: only the encoder decides) and in hybrid mode (what users get). Uses the indexes
bench.quality keeps; each backend's index holds its own vectors of the same chunks. The
questions are answered by one worker process per core."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import (
    BACKENDS,
    EvalSet,
    Options,
    Run,
    indexed,
    parallel_map,
    parse_args,
    read_jsonl,
)
from bench.quality import eval_sets

REQUIRED = 0.9
AGREEMENT_MODES = ("dense", "hybrid")


def top5(options: Options, backend: str, evalset: EvalSet, questions: list[str]) -> dict[str, Any]:
    """Per mode, the top-5 excerpts (article, start) of every question (a worker process)."""
    engine = indexed(options, backend, evalset)  # kept by bench.quality
    found: dict[str, list[list[tuple[str, int]]]] = {}
    for mode in AGREEMENT_MODES:
        found[mode] = []
        for question in questions:
            result = engine.search(question, k=5, mode=mode, abstain=False)
            found[mode].append([(h.article_id, h.start) for h in result.hits])
    return found


def overlap(reference: list[Any], other: list[Any]) -> float:
    expected, got = set(map(tuple, reference)), set(map(tuple, other))
    return len(expected & got) / max(len(expected), 1)


def main(options: Options) -> None:
    run = Run("backend_agreement", options)
    results: dict[str, Any] = {}
    sets = eval_sets(options)
    tasks = []
    for evalset in sets:
        questions = [
            q["question"] for q in read_jsonl(evalset.queries[0]) if q["relevant_article_ids"]
        ][: 150 if options.quick else 1000]
        tasks += [(options, backend, evalset, questions) for backend in BACKENDS]
    answers = iter(parallel_map(top5, tasks))
    for evalset in sets:
        found = {backend: next(answers) for backend in BACKENDS}
        results[evalset.name] = {"questions": len(found["torch"]["hybrid"])}
        for backend in BACKENDS[1:]:
            for mode in AGREEMENT_MODES:
                overlaps = [
                    overlap(a, b)
                    for a, b in zip(found["torch"][mode], found[backend][mode], strict=True)
                ]
                mean = round(float(np.mean(overlaps)), 4)
                results[evalset.name][f"{backend}/{mode}"] = mean
                run.note(f"{evalset.name} {backend} {mode}: top-5 overlap {mean}")
    passed = all(
        value >= REQUIRED
        for per_set in results.values()
        for key, value in per_set.items()
        if key != "questions"
    )
    run.results.update(sets=results, required=REQUIRED, passed=passed)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
