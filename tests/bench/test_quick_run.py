"""`python -m bench.run_all --quick` runs every benchmark and writes well-formed results.

Results and the rendered page go to a temporary folder; model exports and indexes are reused
from the bench cache (bench/.cache) so a second run takes a couple of minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import REPO

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.timeout(1200)]
pytest.importorskip("matplotlib", reason="the bench extra is not installed (make bench-quick)")
pytest.importorskip("txtai", reason="the bench extra is not installed (make bench-quick)")

SCRIPTS = {
    "encode_throughput": ("chunks", "raw_sentence_transformers", "backends", "best"),
    "quality": ("sets", "against_torch"),
    "backend_agreement": ("sets", "passed"),
    "abstention_curve": ("curve", "default_threshold", "at_default"),
    "chunk_sweep": ("configs",),
    "add_latency": ("trials", "median_searchable_seconds"),
    "startup": ("commands",),
    "serving_memory": ("by_backend",),
    "peers": ("systems",),
    "query_latency": ("scales", "encode_by_backend"),
    "hnsw_recall": ("by_ef", "vectors"),
}


def test_quick_run_writes_every_result(tmp_path: Path) -> None:
    out, docs = tmp_path / "results", tmp_path / "docs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--out", str(out), "--docs", str(docs)],
        cwd=REPO,
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "run_all.json").read_text())
    assert summary["quick"] is True and summary["failed"] == []
    for name, keys in SCRIPTS.items():
        data = json.loads((out / f"{name}.json").read_text())
        assert data["name"] == name and data["quick"] is True
        assert {"command", "date", "commit", "machine", "results"} <= set(data)
        assert data["machine"]["cpu_model"] and data["machine"]["cores"]
        assert set(keys) <= set(data["results"]), (name, sorted(data["results"]))
    peers = json.loads((out / "peers.json").read_text())["results"]["systems"]
    assert "error" not in peers["newsdesk"]
    page = (docs / "benchmarks.md").read_text()
    assert "## Goals" in page and "bench-latency.png" in page
    assert (docs / "bench-latency.png").stat().st_size > 1000
