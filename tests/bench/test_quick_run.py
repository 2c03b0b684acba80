"""`python -m bench.run_all --quick` runs every benchmark and writes well-formed results, with
or without the bench extra (`pip install -e '.[bench]'`: the peers and matplotlib).

Results and the rendered page go to a temporary folder; model exports, indexes and synthetic
collections go to the bench cache (bench/.cache), empty in a fresh clone: the first quick run
exports the model and builds its small indexes, a few minutes on two cores.

Set BENCH_TEST_HIDE_EXTRAS=1 to run the whole quick run as if the bench extra were missing
(its modules are hidden from every process of the run, not uninstalled).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.environment import child_env
from tests.factories import REPO

pytestmark = [pytest.mark.slow, pytest.mark.model]

SCRIPTS = {
    "encode_throughput": ("chunks", "raw_sentence_transformers", "backends", "best"),
    "quality": ("sets", "against_torch"),
    "news_time": ("rows", "misses", "questions"),
    "followups": ("rows", "per_pair", "pairs"),
    "backend_agreement": ("sets", "passed"),
    "abstention_curve": ("curve", "default_threshold", "at_default"),
    "answer_sentence": ("bold@1", "bold_in_excerpt@1", "bold_in_excerpt@5"),
    "chunk_sweep": ("configs",),
    "add_latency": ("trials", "median_searchable_seconds", "by_collection_size"),
    "feed_ingest": ("entries_per_second", "non_encoding_share", "loop_stall_ms"),
    "startup": ("commands",),
    "serving_memory": ("by_backend",),
    "peers": ("systems",),
    "query_latency": ("scales", "encode_by_backend"),
    "hnsw_recall": ("by_ef", "vectors"),
}
PEERS = {"txtai": ("txtai",), "langchain": ("langchain_community", "langchain_core")}
EXTRA_MODULES = ("txtai", "langchain_community", "langchain_core", "matplotlib")
NOT_INSTALLED = "not installed: pip install -e '.[bench]'"
HIDE_EXTRAS = os.environ.get("BENCH_TEST_HIDE_EXTRAS") == "1"

# Imported first by every Python process that has this folder on PYTHONPATH: a None entry in
# sys.modules makes `import x` fail and `importlib.util.find_spec(x)` answer None, as if the
# bench extra's modules were not installed.
HIDER = f"import sys\n\nsys.modules.update(dict.fromkeys({EXTRA_MODULES!r}))\n"


def _installed(module: str, hidden: bool) -> bool:
    return not hidden and importlib.util.find_spec(module) is not None


def _env(tmp: Path, *, hide: bool) -> dict[str, str]:
    env = child_env()
    if hide:
        hider = tmp / "hide-bench-extra"
        hider.mkdir(exist_ok=True)
        (hider / "sitecustomize.py").write_text(HIDER)
        env["PYTHONPATH"] = os.pathsep.join([str(hider), env["PYTHONPATH"]])
    return env


def _bench(args: list[str], env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One quick run of everything (the cold first run dominates this module's time)."""
    root = tmp_path_factory.mktemp("bench")
    out, docs = root / "results", root / "docs"
    args = ["bench.run_all", "--quick", "--out", str(out), "--docs", str(docs)]
    _bench(args, _env(root, hide=HIDE_EXTRAS), timeout=1700)
    return out, docs


def _check_peers(out: Path, *, hidden: bool) -> None:
    systems = json.loads((out / "peers.json").read_text())["results"]["systems"]
    assert set(systems) == {"newsdesk", *PEERS}
    newsdesk = systems["newsdesk"]
    assert "error" not in newsdesk and "skipped" not in newsdesk, newsdesk
    assert newsdesk["queries"] > 0 and 0 <= newsdesk["ans@5"] <= 1
    for peer, modules in PEERS.items():
        entry = systems[peer]
        if all(_installed(m, hidden) for m in modules):
            # Installed: it ran, or its error says precisely why it could not here.
            assert "skipped" not in entry, entry
            assert "error" in entry or entry["queries"] > 0, entry
            assert entry.get("error", "x"), entry
        else:
            assert set(entry) == {"skipped"}, entry
            assert entry["skipped"].startswith(NOT_INSTALLED), entry


def _check_page(docs: Path, *, hidden: bool) -> None:
    page = (docs / "benchmarks.md").read_text()
    assert "## Goals" in page and "_Not run._" not in page
    if _installed("matplotlib", hidden):
        assert "bench-latency.png" in page
        assert (docs / "bench-latency.png").stat().st_size > 1000
    else:
        assert "Plot not drawn: matplotlib is not installed" in page
        assert "](bench-" not in page and not list(docs.glob("*.png"))


@pytest.mark.timeout(1800)
def test_quick_run_writes_every_result(quick_run: tuple[Path, Path]) -> None:
    out, docs = quick_run
    summary = json.loads((out / "run_all.json").read_text())
    assert summary["quick"] is True and summary["failed"] == []
    assert set(summary["scripts"]) == set(SCRIPTS)
    for name, keys in SCRIPTS.items():
        data = json.loads((out / f"{name}.json").read_text())
        assert data["name"] == name and data["quick"] is True
        assert {"command", "date", "commit", "machine", "seconds", "notes", "results"} <= set(data)
        assert data["machine"]["cpu_model"] and data["machine"]["cores"]
        assert set(keys) <= set(data["results"]), (name, sorted(data["results"]))
    _check_peers(out, hidden=HIDE_EXTRAS)
    _check_page(docs, hidden=HIDE_EXTRAS)


@pytest.mark.timeout(600)
def test_without_the_bench_extra(quick_run: tuple[Path, Path], tmp_path: Path) -> None:
    """Peers and the page with the bench extra hidden: the peers are recorded as skipped with
    the reason, and the page renders every section without plots."""
    out = tmp_path / "results"
    shutil.copytree(quick_run[0], out)
    (out / "peers.json").unlink()
    env = _env(tmp_path, hide=True)
    _bench(["bench.peers", "--quick", "--out", str(out)], env, timeout=500)
    _bench(["bench.report", "--results", str(out), "--docs", str(tmp_path / "docs")], env, 60)
    _check_peers(out, hidden=True)
    _check_page(tmp_path / "docs", hidden=True)
