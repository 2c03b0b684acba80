"""Does the fast backend cost quality? `newsdesk eval` on the shared sets (SQuAD whole
articles with the off-topic Cranfield questions mixed in, and Cranfield) for every backend
in every mode; a backend qualifies as default when it stays within 1 point of torch on every
set, in every mode, on the metrics that matter (Ans@5, Hit@5, MRR@10, nDCG@10)."""

from __future__ import annotations

import json
from typing import Any

from bench.common import (
    BACKENDS,
    EvalSet,
    Options,
    Run,
    cranfield_set,
    newsdesk,
    newsdesk_env,
    parse_args,
    squad_set,
    timed_process,
)

KEY_METRICS = ("ans@5", "hit@5", "mrr@10", "ndcg@10")


def eval_sets(options: Options) -> list[EvalSet]:
    if options.quick:
        return [squad_set(options, 3), cranfield_set(options, 10)]
    return [squad_set(options), cranfield_set(options)]


def run_eval(options: Options, backend: str, evalset: EvalSet) -> dict[str, Any]:
    index = options.cache / "indexes" / backend / evalset.name
    command = [newsdesk(), "eval", "--articles", str(evalset.articles), "--mode", "all"]
    for path in evalset.queries:
        command += ["--queries", str(path)]
    command += ["--index", str(index), "--json"]
    done = timed_process(command, newsdesk_env(options, embedding_backend=backend), options.cache)
    if done.returncode != 0:
        raise RuntimeError(f"newsdesk eval failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return {"seconds": round(done.seconds, 1), "modes": result}


def gaps(results: dict[str, dict[str, Any]], backend: str) -> dict[str, float]:
    """Largest drop (in points) below torch per set, over the key metrics and every mode."""
    out = {}
    for name, by_backend in results.items():
        drops = []
        for mode, reference in by_backend["torch"]["modes"].items():
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
        out[backend] = {"max_drop_points": worst, "within_1_point": max(worst.values()) <= 1}
    return out


def main(options: Options) -> None:
    run = Run("quality", options)
    results: dict[str, dict[str, Any]] = {}
    for evalset in eval_sets(options):
        results[evalset.name] = {}
        for backend in BACKENDS:
            results[evalset.name][backend] = run_eval(options, backend, evalset)
            hybrid = results[evalset.name][backend]["modes"]["hybrid"]
            run.note(f"{evalset.name} {backend} hybrid: {hybrid}")
    run.results.update(sets=results, against_torch=against_torch(results), key_metrics=KEY_METRICS)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
