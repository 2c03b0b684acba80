"""How much memory does a process serving questions hold? RSS of a process that opened the
SQuAD index and answered a few hundred questions, per backend, with the index's own share
(vectors, FAISS, BM25 arrays) reported beside it."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import (
    EVAL,
    REPO,
    Options,
    Run,
    newsdesk_env,
    parse_args,
    prepared_index,
    quick_or_full_squad,
    read_jsonl,
)


def main(options: Options) -> None:
    run = Run("serving_memory", options)
    evalset = quick_or_full_squad(options, with_ood=False)
    count = 30 if options.quick else 300
    questions = options.cache / "serve-questions.txt"
    rows = read_jsonl(EVAL / "squad" / "queries_full.jsonl")[:count]
    questions.write_text("\n".join(r["question"] for r in rows), encoding="utf-8")
    by_backend = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        index = prepared_index(options, backend, evalset)
        env = newsdesk_env(options, index_dir=str(index), embedding_backend=backend)
        env["PYTHONPATH"] = str(REPO)
        done = subprocess.run(
            [sys.executable, "-m", "bench.serve_probe", str(questions)],
            env=env,
            cwd=options.cache,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["rss_minus_index_mb"] = round(result["rss_mb"] - result["index_mb"], 1)
        by_backend[backend] = result
        run.note(f"{backend}: {result}")
    run.results.update(index=evalset.name, by_backend=by_backend)
    run.write()


if __name__ == "__main__":
    main(parse_args(__doc__ or ""))
