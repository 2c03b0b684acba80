"""Shared fixtures: settings on a temporary index with the instant hashing encoder, an
environment no developer setting reaches (tests/environment.py), and the control process that
tells the machine's event-loop stalls from newsdesk's (tests/loop_stalls.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings
from tests.environment import SETTING_PREFIXES
from tests.loop_stalls import MachineObserver
from tests.postgres_server import PostgresServer, running_server

_REMOVED = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module is imported or any fixture of any scope runs: the developer's
    NEWSDESK_*/DISCORD_* variables are gone for the whole run (put back at its end)."""
    removed = {k: v for k, v in os.environ.items() if k.startswith(SETTING_PREFIXES)}
    for name in removed:
        del os.environ[name]
    config.stash[_REMOVED] = removed


def pytest_unconfigure(config: pytest.Config) -> None:
    removed: dict[str, str] = config.stash.get(_REMOVED, {})
    os.environ.update(removed)


@pytest.fixture(scope="session", autouse=True)
def session_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Session- and module-scoped fixtures run here, not where pytest was started (which may
    hold the developer's .env); autouse, so it is set up before any other session fixture."""
    folder = tmp_path_factory.mktemp("session-cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        yield folder


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test in its own empty folder, and without any such variable even if a wider-scoped
    fixture set one."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def machine() -> Iterator[MachineObserver]:
    """One control process for the session, started by the first test that asks for it,
    watching the thread the tests' event loops run on (pytest-asyncio uses the main one)."""
    loop_thread = threading.main_thread().native_id
    assert loop_thread is not None  # Linux: every thread has one
    observer = MachineObserver(loop_thread)
    with observer.running():
        yield observer


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL (tests/postgres_server.py), started by the first test that
    needs it; the test is skipped, saying why, where none can be started."""
    from retrieval.index.postgres.connection import close_idle_connections

    with running_server() as server:
        if isinstance(server, str):
            pytest.skip(server)
        yield server
        close_idle_connections()  # those of databases no `database_url` made (a standby's)


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database of the session's server, for one test (its connections kept for
    reuse are closed after it)."""
    from retrieval.index.postgres.connection import close_idle_connections

    url = postgres_server.new_database()
    yield url
    close_idle_connections(url)


@pytest.fixture
def pg_settings(settings: RetrievalSettings, database_url: str) -> RetrievalSettings:
    """`settings` with the index in PostgreSQL."""
    return settings.model_copy(update={"database_url": SecretStr(database_url)})
