"""Shared fixtures: settings on a temporary index with the instant hashing encoder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings


@pytest.fixture
def settings(tmp_path: Path) -> RetrievalSettings:
    articles = tmp_path / "articles"
    articles.mkdir()
    return RetrievalSettings(
        _env_file=None,  # type: ignore[call-arg]
        articles_dir=articles,
        index_dir=tmp_path / "index",
        model="hashing",
        chunk_tokens=60,
        chunk_overlap_tokens=12,
        abstain_threshold=0.05,
    )


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def engine(settings: RetrievalSettings, embedder: HashingEmbedder) -> Iterator[Engine]:
    yield Engine(settings, embedder).open()
