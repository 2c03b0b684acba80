"""How long until the first answer? Process start to printed answer for `newsdesk ask` with
each backend, and `newsdesk --help` / `newsdesk index status` (which must not load a model),
against a bare `python -c pass`. Medians of repeated runs, page cache warm."""

from __future__ import annotations

import statistics
from typing import Any

from bench.common import (
    Options,
    Run,
    newsdesk,
    newsdesk_env,
    parse_args,
    prepared_index,
    quick_or_full_squad,
    timed_process,
)

QUESTION = "Which NFL team represented the AFC at Super Bowl 50?"


def repeat(command: list[str], env: dict[str, str], options: Options, times: int) -> dict[str, Any]:
    warm = 0 if options.quick else 1  # an untimed first run warms the page cache
    runs = [timed_process(command, env, options.cache) for _ in range(times + warm)][warm:]
    failed = [r for r in runs if r.returncode != 0]
    if failed:
        raise RuntimeError(f"{command} failed: {failed[0].stderr[-2000:]}")
    seconds = [r.seconds for r in runs]
    return {
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "peak_rss_mb": round(statistics.median(r.peak_rss_mb for r in runs), 1),
        "runs": len(runs),
        "output_head": runs[0].stdout[:160],
    }


def main(options: Options) -> None:
    run = Run("startup", options)
    times = 1 if options.quick else 5
    evalset = quick_or_full_squad(options, with_ood=False)
    results: dict[str, Any] = {}
    empty = options.cache / "empty.py"
    empty.write_text("")
    results["python (empty script)"] = repeat([str(empty)], {}, options, times)
    base_env = newsdesk_env(options)
    results["newsdesk --help"] = repeat([newsdesk(), "--help"], base_env, options, times)
    for backend in ("torch", "onnx", "onnx-int8"):
        index = prepared_index(options, backend, evalset)
        env = newsdesk_env(options, index_dir=str(index), embedding_backend=backend)
        if backend == "onnx-int8":
            results["newsdesk index status"] = repeat(
                [newsdesk(), "index", "status"], env, options, times
            )
        results[f"newsdesk ask ({backend})"] = repeat(
            [newsdesk(), "ask", QUESTION], env, options, times
        )
        run.note(f"ask with {backend}: {results[f'newsdesk ask ({backend})']['median_s']} s")
    run.results.update(commands=results, index=evalset.name, question=QUESTION)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
