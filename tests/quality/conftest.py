"""The real packaged model, loaded once per session for the few tests that need it."""

from __future__ import annotations

import pytest

from retrieval.embedding import Embedder


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    from bot.compose import build_embedder
    from retrieval.settings import RetrievalSettings

    return build_embedder(RetrievalSettings(_env_file=None))  # type: ignore[call-arg]
