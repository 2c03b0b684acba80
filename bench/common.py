"""What every benchmark script shares: arguments, machine facts, result files, data sets."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CACHE = REPO / "bench" / ".cache"
EVAL = Path(os.environ.get("NEWSDESK_EVAL_DIR", REPO.parent / "shared" / "eval"))
BACKENDS = ("torch", "onnx", "onnx-int8")
MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Options:
    quick: bool
    out: Path
    cache: Path

    @property
    def models(self) -> Path:
        """Shared ONNX export cache, so each script doesn't export the model again."""
        return self.cache / "models"


def parse_args(description: str, argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    parser.add_argument("--cache", type=Path, default=CACHE, help="model exports, fixtures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    return Options(quick=args.quick, out=args.out, cache=args.cache)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(flags & {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"})
    except OSError:
        pass
    return []


def machine() -> dict[str, Any]:
    import faiss
    import onnxruntime

    memory = 0
    with contextlib.suppress(ValueError, OSError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "memory_gb": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "faiss": faiss.__version__,
        "numpy": np.__version__,
    }


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{'+changes' if dirty else ''}" if head else "unknown"


class Run:
    """Collects one script's results and writes them with the facts needed to trust them."""

    def __init__(self, name: str, options: Options) -> None:
        self.name = name
        self.options = options
        self.started = time.time()
        self.load_before = os.getloadavg()
        self.results: dict[str, Any] = {}
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"[{self.name}] {text}", flush=True)

    def write(self) -> Path:
        args = " --quick" if self.options.quick else ""
        payload = {
            "name": self.name,
            "command": f"python -m bench.{self.name}{args}",
            "argv": shlex.join(sys.argv),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": commit(),
            "machine": machine(),
            "load_before": [round(x, 2) for x in self.load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "seconds": round(time.time() - self.started, 1),
            "quick": self.options.quick,
            "notes": self.notes,
            "results": self.results,
        }
        path = self.options.out / f"{self.name}.json"
        path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n", encoding="utf-8")
        print(f"[{self.name}] wrote {path} in {payload['seconds']}s", flush=True)
        return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value)}")


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean/max in milliseconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000
    if not len(values):
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0, "max": 0.0, "n": 0}
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "mean": round(float(values.mean()), 3),
        "max": round(float(values.max()), 3),
        "n": len(values),
    }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@dataclass(frozen=True)
class EvalSet:
    """An articles file and the query files asked against it (paths newsdesk eval takes)."""

    name: str
    articles: Path
    queries: tuple[Path, ...]


def squad_set(options: Options, articles: int | None = None, *, with_ood: bool = True) -> EvalSet:
    """SQuAD whole articles with their questions (plus the off-topic Cranfield ones); a
    deterministic subset of `articles` articles (and their questions) in quick runs."""
    full = EVAL / "squad" / "articles_full.jsonl"
    queries = EVAL / "squad" / "queries_full.jsonl"
    ood = EVAL / "out_of_domain" / "cranfield_questions_for_squad.jsonl"
    if articles is None:
        return EvalSet("squad", full, (queries, ood) if with_ood else (queries,))
    rows = read_jsonl(full)
    chosen = random.Random(7).sample(rows, articles)
    ids = {r["id"] for r in chosen}
    kept = [q for q in read_jsonl(queries) if set(q["relevant_article_ids"]) & ids]
    folder = options.cache / "subsets" / f"squad-{articles}"
    paths = [write_jsonl(folder / "queries.jsonl", kept)]
    if with_ood:
        paths.append(write_jsonl(folder / "ood.jsonl", read_jsonl(ood)[: max(20, len(kept) // 10)]))
    return EvalSet(
        f"squad-{articles}", write_jsonl(folder / "articles.jsonl", chosen), tuple(paths)
    )


def cranfield_set(options: Options, queries: int | None = None) -> EvalSet:
    articles = EVAL / "cranfield" / "articles.jsonl"
    path = EVAL / "cranfield" / "queries.jsonl"
    if queries is None:
        return EvalSet("cranfield", articles, (path,))
    folder = options.cache / "subsets" / f"cranfield-{queries}"
    kept = read_jsonl(path)[:queries]
    relevant = {a for q in kept for a in q["relevant_article_ids"]}
    rows = read_jsonl(articles)
    others = [r for r in rows if r["id"] not in relevant]
    chosen = [r for r in rows if r["id"] in relevant] + random.Random(7).sample(others, 150)
    return EvalSet(
        f"cranfield-{queries}",
        write_jsonl(folder / "articles.jsonl", chosen),
        (write_jsonl(folder / "queries.jsonl", kept),),
    )


def load_embedder(backend: str, options: Options, *, batch_size: int = 16) -> Any:
    from bot.compose import offline_environment
    from retrieval.embedding.factory import load_embedder as load
    from retrieval.settings import PACKAGED_MODEL

    offline_environment()
    return load(PACKAGED_MODEL, backend=backend, cache_dir=options.models, batch_size=batch_size)


def newsdesk_env(options: Options, **settings: str) -> dict[str, str]:
    """Environment for a `newsdesk` subprocess: offline, the shared model cache, no .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(
        {
            "NEWSDESK_MODEL_CACHE_DIR": str(options.models),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    env.update({f"NEWSDESK_{k.upper()}": v for k, v in settings.items()})
    return env


def newsdesk() -> str:
    return str(Path(sys.executable).parent / "newsdesk")


def ensure_exported(options: Options) -> None:
    """Export the ONNX graphs into the shared cache once (in this process: needs torch)."""
    for backend in ("onnx", "onnx-int8"):
        load_embedder(backend, options)


def prepared_index(options: Options, backend: str, evalset: EvalSet, **settings: Any) -> Path:
    """An index of `evalset` with `backend` under the cache, built once and reused by the
    scripts that need one (the same folder `newsdesk eval --index` keeps)."""
    from retrieval.engine import Engine
    from retrieval.loaders import load_file
    from retrieval.settings import RetrievalSettings

    index_dir = options.cache / "indexes" / backend / evalset.name
    config = RetrievalSettings(  # type: ignore[call-arg]
        _env_file=None, index_dir=index_dir, embedding_backend=backend, **settings
    )
    engine = Engine(config, load_embedder(backend, options)).open()
    engine.sync(load_file(evalset.articles, max_bytes=50_000_000), remove_missing=True)
    return index_dir


@dataclass(frozen=True)
class Finished:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def timed_process(command: Sequence[str], env: dict[str, str], cwd: Path) -> Finished:
    """Wall time and peak RSS of one run of a Python console script (`command[0]`), run
    through bench.hwm so the peak is the program's own."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        peak = Path(scratch) / "peak"
        wrapped = [sys.executable, "-m", "bench.hwm", str(peak), *command]
        env = env | {"PYTHONPATH": str(REPO)}
        started = time.perf_counter()
        done = subprocess.run(wrapped, env=env, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        rss = int(peak.read_text()) / 1024 if peak.exists() else 0.0
    return Finished(elapsed, rss, done.returncode, done.stdout, done.stderr)
