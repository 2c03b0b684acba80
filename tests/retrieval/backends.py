"""The engine's tests run on both homes of the index: SQLite files (the default) and
PostgreSQL (tests/postgres_server.py). A module opts in by overriding `settings`:

    @pytest.fixture(params=BACKENDS)
    def settings(request: pytest.FixtureRequest, settings: RetrievalSettings) -> ...:
        return on_backend(request, settings)

and a test about the SQLite files themselves is marked `sqlite_only`."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from retrieval.settings import RetrievalSettings

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def on_backend(request: pytest.FixtureRequest, settings: RetrievalSettings) -> RetrievalSettings:
    if request.param == "sqlite":
        return settings
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the SQLite index's own files")
    url = request.getfixturevalue("database_url")
    return settings.model_copy(update={"database_url": SecretStr(url)})
