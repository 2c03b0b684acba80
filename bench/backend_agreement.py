"""Do the ONNX backends find what torch finds? For every shared-set question, the overlap of
the top-5 excerpts (article and span) between torch and each ONNX backend, in dense mode (the
strictest: only the encoder decides) and in hybrid mode (what users get). Uses the indexes
bench.quality keeps; each backend's index holds its own vectors of the same chunks."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import (
    BACKENDS,
    Options,
    Run,
    load_embedder,
    parse_args,
    prepared_index,
    read_jsonl,
)
from bench.quality import eval_sets

REQUIRED = 0.9


def top5(engine: Any, questions: list[str], mode: str) -> list[set[tuple[str, int]]]:
    out = []
    for question in questions:
        result = engine.search(question, k=5, mode=mode, abstain=False)
        out.append({(h.article_id, h.start) for h in result.hits})
    return out


def main(options: Options) -> None:
    from retrieval.engine import Engine
    from retrieval.settings import RetrievalSettings

    run = Run("backend_agreement", options)
    results: dict[str, Any] = {}
    for evalset in eval_sets(options):
        questions = [
            q["question"] for q in read_jsonl(evalset.queries[0]) if q["relevant_article_ids"]
        ][: 150 if options.quick else 1000]
        found: dict[str, dict[str, list[set[tuple[str, int]]]]] = {}
        for backend in BACKENDS:
            index = prepared_index(options, backend, evalset)
            settings = RetrievalSettings(  # type: ignore[call-arg]
                _env_file=None, index_dir=index, embedding_backend=backend
            )
            engine = Engine(settings, load_embedder(backend, options)).open(create=False)
            found[backend] = {m: top5(engine, questions, m) for m in ("dense", "hybrid")}
        results[evalset.name] = {"questions": len(questions)}
        for backend in BACKENDS[1:]:
            for mode in ("dense", "hybrid"):
                overlaps = [
                    len(a & b) / max(len(a), 1)
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
