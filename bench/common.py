"""What every benchmark script shares: arguments, machine facts, result files, data sets."""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import multiprocessing
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
CACHE = REPO / "bench" / ".cache"
EVAL = Path(os.environ.get("NEWSDESK_EVAL_DIR", REPO.parent / "shared" / "eval"))
BACKENDS = ("torch", "onnx", "onnx-int8")
MODES = ("hybrid", "dense", "bm25")
# Quick runs share one small SQuAD subset (so one index per backend serves every script) and
# cap its questions: a quick run checks that every script works, not the numbers.
QUICK_ARTICLES = 3
QUICK_QUESTIONS = 60


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
    deterministic subset of `articles` articles (and at most QUICK_QUESTIONS of their
    questions) in quick runs."""
    full = EVAL / "squad" / "articles_full.jsonl"
    queries = EVAL / "squad" / "queries_full.jsonl"
    ood = EVAL / "out_of_domain" / "cranfield_questions_for_squad.jsonl"
    if articles is None:
        return EvalSet("squad", full, (queries, ood) if with_ood else (queries,))
    rows = read_jsonl(full)
    chosen = random.Random(7).sample(rows, articles)
    ids = {r["id"] for r in chosen}
    kept = [q for q in read_jsonl(queries) if set(q["relevant_article_ids"]) & ids]
    kept = kept[:QUICK_QUESTIONS] if options.quick else kept
    folder = options.cache / "subsets" / f"squad-{articles}{'-quick' if options.quick else ''}"
    paths = [write_jsonl(folder / "queries.jsonl", kept)]
    if with_ood:
        paths.append(write_jsonl(folder / "ood.jsonl", read_jsonl(ood)[: max(20, len(kept) // 10)]))
    return EvalSet(folder.name, write_jsonl(folder / "articles.jsonl", chosen), tuple(paths))


def quick_or_full_squad(options: Options, *, with_ood: bool = True) -> EvalSet:
    """The SQuAD set a script runs on: all of it, or the quick subset every script shares."""
    return squad_set(options, QUICK_ARTICLES if options.quick else None, with_ood=with_ood)


def cranfield_set(options: Options, queries: int | None = None, *, others: int = 60) -> EvalSet:
    """Cranfield; a subset of `queries` questions with their relevant abstracts and `others`
    random ones in quick runs."""
    articles = EVAL / "cranfield" / "articles.jsonl"
    path = EVAL / "cranfield" / "queries.jsonl"
    if queries is None:
        return EvalSet("cranfield", articles, (path,))
    folder = options.cache / "subsets" / f"cranfield-{queries}-{others}"
    kept = read_jsonl(path)[:queries]
    relevant = {a for q in kept for a in q["relevant_article_ids"]}
    rows = read_jsonl(articles)
    rest = [r for r in rows if r["id"] not in relevant]
    chosen = [r for r in rows if r["id"] in relevant] + random.Random(7).sample(rest, others)
    return EvalSet(
        folder.name,
        write_jsonl(folder / "articles.jsonl", chosen),
        (write_jsonl(folder / "queries.jsonl", kept),),
    )


@functools.cache
def load_embedder(backend: str, options: Options, *, batch_size: int | None = None) -> Any:
    """The packaged model on `backend`, loaded once per process (scripts open several
    indexes with the same encoder); batches as the settings' default unless given."""
    from bot.compose import offline_environment
    from retrieval.embedding.factory import load_embedder as load
    from retrieval.settings import PACKAGED_MODEL, RetrievalSettings

    offline_environment()
    if batch_size is None:
        batch_size = RetrievalSettings.model_fields["embed_batch_size"].default
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
    indexed(options, backend, evalset, **settings)
    return options.cache / "indexes" / backend / evalset.name


def indexed(options: Options, backend: str, evalset: EvalSet, **settings: Any) -> Any:
    """An engine on the index of `evalset` with `backend` under the cache (built, or brought
    up to date, first), each question encoded once."""
    from retrieval.engine import Engine
    from retrieval.errors import IndexMismatchError
    from retrieval.loaders import load_file

    index_dir = options.cache / "indexes" / backend / evalset.name
    config = index_settings(index_dir, backend, **settings)
    embedder: Any = RememberedQueries(load_embedder(backend, options))
    articles = load_file(evalset.articles, max_bytes=50_000_000)
    try:
        engine = Engine(config, embedder).open()
    except IndexMismatchError:  # cached by an older version or other settings
        engine = Engine(config, embedder)
        engine.rebuild_full(articles)
    else:
        engine.sync(articles, remove_missing=True)
    return engine


def index_settings(index_dir: Path, backend: str, **settings: Any) -> Any:
    from retrieval.settings import EmbeddingBackend, RetrievalSettings

    return RetrievalSettings(  # type: ignore[call-arg]
        _env_file=None,
        index_dir=index_dir,
        embedding_backend=cast(EmbeddingBackend, backend),  # checked by the settings
        **settings,
    )


class RememberedQueries:
    """Passes through to an encoder, encoding each question once: a script that asks the same
    question in several modes gets the very same vector each time, without the repeats."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._vectors: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_query(self, text: str) -> Any:
        vector = self._vectors.get(text)
        if vector is None:
            vector = self._vectors[text] = self.inner.encode_query(text)
        return vector


def open_index(options: Options, backend: str, index_dir: Path, **settings: Any) -> Any:
    """An engine on an index built before (prepared_index), questions encoded once each."""
    from retrieval.engine import Engine

    config = index_settings(index_dir, backend, **settings)
    embedder: Any = RememberedQueries(load_embedder(backend, options))
    return Engine(config, embedder).open(create=False)


def parallel_map(function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> list[Any]:
    """`function(*task)` for every task, in worker processes, one per free core and pinned to
    it; the results in task order. Workers get tasks in order: put the longest first.

    For work whose results are not timings (they would share the machine): answering
    questions (the engine answers one on one thread) and building indexes whose vectors, not
    build times, are wanted. On one core each, an encoder needs no cross-thread sync, so two
    workers do a little more than one process with two threads, and much more on a busy
    machine, where threads that wait for each other stall."""
    from retrieval.threads import free_cores

    workers = min(free_cores(), len(tasks))
    if workers <= 1:
        return [function(*task) for task in tasks]
    if function.__module__ == "__main__":  # a script run with -m: refer to it by its name
        main = sys.modules["__main__"].__spec__
        if main is not None:
            function = getattr(importlib.import_module(main.name), function.__name__)
    context = multiprocessing.get_context("spawn")  # no forked copies of loaded models
    started = context.Value("i", 0)
    cores = sorted(os.sched_getaffinity(0))
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_pin, initargs=(started, cores)
    ) as pool:
        futures = [pool.submit(function, *task) for task in tasks]
        return [future.result() for future in futures]


def _pin(started: Any, cores: list[int]) -> None:
    """Worker start-up: take the next core (free_cores() then answers 1: one thread)."""
    with started.get_lock():
        number = started.value
        started.value += 1
    os.sched_setaffinity(0, {cores[number % len(cores)]})


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
