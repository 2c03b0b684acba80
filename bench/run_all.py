"""Runs every benchmark (each in its own process), then renders docs/benchmarks.md.

python -m bench.run_all            # everything, <= 30 min on 2 quiet cores (first run)
python -m bench.run_all --quick    # small sizes, a few minutes (what tests/bench runs)

Scripts share the bench cache (bench/.cache): the ONNX exports, the indexes bench.quality
builds (the later scripts reuse them) and the synthetic collections. Without the bench
extra (`pip install -e '.[bench]'`) the peers are recorded as skipped and the page is
rendered without plots.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.common import CACHE, REPO, RESULTS

# Cheap, shared preparation first (the model export and the quality indexes are reused).
SCRIPTS = (
    "encode_throughput",
    "quality",
    "news_time",
    "followups",
    "backend_agreement",
    "abstention_curve",
    "answer_sentence",
    "chunk_sweep",
    "add_latency",
    "feed_ingest",
    "startup",
    "serving_memory",
    "peers",
    "query_latency",
    "hnsw_recall",
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    parser.add_argument("--only", nargs="*", choices=SCRIPTS, help="run just these")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pythonpath = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(pythonpath)}
    status = {}
    failed = []
    started = time.time()
    for name in args.only or SCRIPTS:
        command = [sys.executable, "-m", f"bench.{name}", "--out", str(args.out)]
        command += ["--cache", str(args.cache)] + (["--quick"] if args.quick else [])
        print(f"== {name}", flush=True)
        begin, cpu = time.time(), _children_cpu()
        done = subprocess.run(command, env=env, cwd=REPO)
        status[name] = {
            "returncode": done.returncode,
            "seconds": round(time.time() - begin, 1),
            # CPU time of the script and its workers: with the load averages in each result,
            # it tells a slow machine from a busy one.
            "cpu_seconds": round(_children_cpu() - cpu, 1),
        }
        if done.returncode != 0:
            failed.append(name)
    summary = {
        "quick": args.quick,
        "seconds": round(time.time() - started, 1),
        "scripts": status,
        "failed": failed,
    }
    (args.out / "run_all.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"== all done in {summary['seconds']}s; failed: {failed or 'none'}", flush=True)
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.report",
            "--results",
            str(args.out),
            "--docs",
            str(args.docs),
        ],
        env=env,
        cwd=REPO,
    )
    return 1 if failed or report.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
