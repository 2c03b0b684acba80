"""Does the fast backend cost quality? `newsdesk eval` on the shared sets (SQuAD whole
articles with the off-topic Cranfield questions mixed in, and Cranfield) for every backend
in every mode; a backend qualifies as default when it stays within 1 point of torch on every
set, in every mode, on the metrics that matter (Ans@5, Hit@5, MRR@10, nDCG@10).

Each set and backend is a task (build the index, kept in the bench cache for the scripts
after this one; then answer the questions) for one worker process per core: the metrics
don't depend on timing."""

from __future__ import annotations

import time
from typing import Any

from bench.common import (
    BACKENDS,
    MODES,
    EvalSet,
    Options,
    Run,
    cranfield_set,
    indexed,
    parallel_map,
    parse_args,
    quick_or_full_squad,
)

KEY_METRICS = ("ans@5", "hit@5", "mrr@10", "ndcg@10")


def eval_sets(options: Options) -> list[EvalSet]:
    return [quick_or_full_squad(options), cranfield_set(options, 10 if options.quick else None)]


def run_eval(options: Options, backend: str, evalset: EvalSet) -> dict[str, Any]:
    """Build (or reuse) the index, then what `newsdesk eval --mode all --json` does on it: the
    same `evaluate` over `engine.search(q, k=10, mode=m)`, abstention on; each question is
    encoded once for the three modes. In a worker on one core."""
    from retrieval.evaluation import evaluate, load_queries

    started = time.perf_counter()
    engine = indexed(options, backend, evalset)
    built = time.perf_counter() - started
    queries = load_queries(list(evalset.queries))
    modes = {
        mode: evaluate(queries, lambda q, m=mode: engine.search(q, k=10, mode=m)).as_json()  # type: ignore[misc]
        for mode in MODES
    }
    return {
        "index_seconds": round(built, 1),
        "seconds": round(time.perf_counter() - started - built, 1),
        "modes": modes,
    }


def gaps(
    results: dict[str, dict[str, Any]], backend: str, modes: tuple[str, ...] = MODES
) -> dict[str, float]:
    """Largest drop (in points) below torch per set, over the key metrics and `modes`."""
    out: dict[str, float] = {}
    for name, by_backend in results.items():
        drops = []
        for mode, reference in by_backend["torch"]["modes"].items():
            if mode not in modes:
                continue
            other = by_backend[backend]["modes"][mode]
            drops += [
                100 * ((reference.get(m) or 0) - (other.get(m) or 0))
                for m in KEY_METRICS
                if reference.get(m) is not None
            ]
        out[name] = round(max(drops), 2)
    return out


def against_torch(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for backend in BACKENDS[1:]:
        worst = gaps(results, backend)
        default_mode = gaps(results, backend, ("hybrid",))
        out[backend] = {
            "max_drop_points": worst,
            "within_1_point": max(worst.values()) <= 1,
            # What users get: the default mode (dense-only and bm25-only are options).
            "max_drop_points_hybrid": default_mode,
            "within_1_point_hybrid": max(default_mode.values()) <= 1,
        }
    return out


def main(options: Options) -> None:
    run = Run("quality", options)
    sets = eval_sets(options)
    # One task per set and backend, a worker per core (largest set and slowest encoder first).
    tasks = [(options, backend, evalset) for evalset in sets for backend in BACKENDS]
    results: dict[str, dict[str, Any]] = {evalset.name: {} for evalset in sets}
    for (_, backend, evalset), result in zip(tasks, parallel_map(run_eval, tasks), strict=True):
        results[evalset.name][backend] = result
        run.note(f"{evalset.name} {backend} hybrid: {result['modes']['hybrid']}")
    run.results.update(sets=results, against_torch=against_torch(results), key_metrics=KEY_METRICS)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
