"""Where exported ONNX graphs live and whether a cached export may be used (no torch here).

One folder per source model under `<index dir>/models/`, holding the graphs and a manifest
that records what they were made from and how close they came to the torch reference. A graph
is used only if its manifest matches the installed weights and onnxruntime and says it passed.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from retrieval.embedding.model_files import ModelFiles, weights_sha256
from retrieval.files import write_json_atomic

logger = logging.getLogger(__name__)

MODELS_FOLDER = "models"
MANIFEST = "manifest.json"
# Bump when the export recipe changes, so cached graphs are exported again instead of reused.
# 2: int8 keeps each feed-forward MatMul's outlier input channels in fp32. 3: the int8 graph
# needs a loader that keeps its products exact on CPUs without VNNI (`int8_kernel`); an older
# newsdesk would run it saturated there, so it exports (and verifies) its own instead.
FORMAT_VERSION = 3
GRAPH_FILES = {"onnx": "model-fp32.onnx", "onnx-int8": "model-int8.onnx"}
# The version of each graph's recipe, recorded in index manifests: bump a backend's entry when
# its vectors change, so indexes encoded with the old graph ask for a full rebuild instead of
# mixing old cached vectors with new question vectors. 2: int8 with fp32 outlier channels.
# 3: same graph, exact int8 products on every CPU; on CPUs without VNNI recipe 2 saturated, and
# an index moved there from a VNNI machine could have mixed both kinds of vectors.
GRAPH_RECIPES = {"onnx": "1", "onnx-int8": "3"}
# Mean cosine to the torch reference a graph must reach on the fixed sample to be used.
MIN_COSINE = {"onnx": 0.999, "onnx-int8": 0.98}


def model_cache_dir(index_dir: Path) -> Path:
    return index_dir / MODELS_FOLDER


def export_folder(cache_dir: Path, model_name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-") or "model"
    return cache_dir / slug


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        logger.warning("%s is unreadable; the model will be exported again", path)
        return None
    return data if isinstance(data, dict) else None


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    write_json_atomic(folder / MANIFEST, manifest)


def usable_graph(folder: Path, files: ModelFiles, backend: str) -> Path | None:
    """The cached graph for `backend` if it was made from these weights with this onnxruntime
    and passed verification, else None (the caller exports again)."""
    manifest = read_manifest(folder)
    graph = folder / GRAPH_FILES[backend]
    if manifest is None or not graph.is_file():
        return None
    problem = _stale_reason(manifest, files, backend)
    if problem:
        logger.info("cached ONNX export in %s not used: %s", folder, problem)
        return None
    source = manifest["source"]
    stat = list(files.weights_stat())
    if stat != source.get("weights_stat"):
        # Same content (checked above), touched or reinstalled: remember the new stat so the
        # next start skips hashing.
        source["weights_stat"] = stat
        write_manifest(folder, manifest)
    return graph


def _stale_reason(manifest: dict[str, Any], files: ModelFiles, backend: str) -> str:
    import onnxruntime

    if manifest.get("format_version") != FORMAT_VERSION:
        return "older export format"
    if manifest.get("onnxruntime") != onnxruntime.__version__:
        return f"made with onnxruntime {manifest.get('onnxruntime')}, {onnxruntime.__version__} now"
    variant = manifest.get("graphs", {}).get(backend, {})
    if not variant.get("verified"):
        return f"{backend} graph did not pass verification"
    source = manifest.get("source", {})
    if not isinstance(source, dict):
        return "no source recorded"
    same_stat = list(files.weights_stat()) == source.get("weights_stat")
    # Only when the file was touched does the content decide (hashing takes ~0.3 s).
    if not same_stat and weights_sha256(files.weights) != source.get("weights_sha256"):
        return "the model weights changed"
    return ""
