"""The ONNX backends on the real packaged model: export, verification, and a question path
that never imports torch or sentence-transformers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedding.factory import load_embedder
from retrieval.settings import PACKAGED_MODEL
from tests.cli.helpers import NEWSDESK
from tests.environment import child_env
from tests.factories import REPO

pytestmark = [pytest.mark.slow, pytest.mark.model]


def _env(cache: Path, index: Path, backend: str) -> dict[str, str]:
    return child_env(
        NEWSDESK_MODEL_CACHE_DIR=str(cache),
        NEWSDESK_INDEX_DIR=str(index),
        NEWSDESK_ARTICLES_DIR=str(REPO / "articles"),
        NEWSDESK_EMBEDDING_BACKEND=backend,
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """`newsdesk model export` in its own process (export needs torch; the tests below don't)."""
    root = tmp_path_factory.mktemp("onnx")
    cache = root / "models"
    done = subprocess.run(
        [*NEWSDESK, "model", "export", "--json"],
        env=_env(cache, root / "index", "onnx-int8"),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return cache, json.loads(done.stdout)


def test_export_is_verified_against_torch(exported: tuple[Path, dict[str, object]]) -> None:
    cache, manifest = exported
    graphs = manifest["graphs"]
    assert isinstance(graphs, dict)
    assert graphs["onnx"]["mean_cosine_to_torch"] >= 0.999
    assert graphs["onnx-int8"]["mean_cosine_to_torch"] >= 0.98
    source = manifest["source"]
    assert isinstance(source, dict) and len(source["weights_sha256"]) == 64
    assert {"opset", "onnxruntime", "onnx", "torch"} <= set(manifest)
    folder = cache / "packaged-all-MiniLM-L6-v2"
    assert (folder / "model-fp32.onnx").is_file() and (folder / "model-int8.onnx").is_file()


def test_onnx_encoder_matches_the_torch_tokenizer_and_itself(
    exported: tuple[Path, dict[str, object]],
) -> None:
    cache, _ = exported
    fast = load_embedder(PACKAGED_MODEL, backend="onnx", cache_dir=cache)
    from transformers import AutoTokenizer

    from retrieval.embedding.factory import packaged_model_path

    reference = AutoTokenizer.from_pretrained(packaged_model_path())
    texts = ["Kerry met Lavrov in Moscow.", "Température naïve — ok", "x " * 400]
    counts = [len(reference(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert fast.count_tokens(texts) == counts  # same chunk boundaries on every backend
    batch = fast.encode(texts)
    single = np.stack([fast.encode_query(t) for t in texts])
    assert batch.shape == (3, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batch, single, atol=1e-4)  # padding in a batch changes nothing


def test_question_path_never_imports_torch(
    exported: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    cache, _ = exported
    code = (
        "import sys\n"
        "from bot.compose import Composition, OpenPolicy, load_settings\n"
        "from retrieval.loaders import load_folder\n"
        "settings = load_settings()\n"
        "engine = Composition(settings).engine(OpenPolicy.OPEN_OR_BUILD)\n"
        "loaded = load_folder(settings.articles_dir, max_bytes=10**7)\n"
        "engine.sync(loaded.articles, remove_missing=True)\n"
        "result = engine.search('What did Kerry want from the Moscow talks?')\n"
        "assert 'real progress' in result.hits[0].excerpt, result.hits[0].excerpt\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "print(type(engine.embedder).__name__, engine.embedder.backend)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(cache, tmp_path / "index", "onnx-int8"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OnnxEmbedder", "onnx-int8"]
    status = subprocess.run(
        [*NEWSDESK, "index", "status", "--json"],
        env=_env(cache, tmp_path / "index", "onnx-int8"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(status.stdout)["embedding_backend"] == "onnx-int8"
    # Asking with another backend than the index was built with fails with the fix named.
    other = subprocess.run(
        [*NEWSDESK, "ask", "Kerry"],
        env=_env(cache, tmp_path / "index", "onnx"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode != 0
    assert "newsdesk index rebuild --full" in other.stderr
    assert "NEWSDESK_EMBEDDING_BACKEND=onnx-int8" in other.stderr
