"""The CLI with the index in PostgreSQL: `index migrate`, and the usual commands on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from retrieval.index.postgres import migrations
from tests.cli.helpers import Workspace
from tests.cli.test_commands import one_line_error
from tests.factories import REUTERS


def test_migrate_without_a_database_says_there_is_none(tmp_path: Path) -> None:
    out = Workspace(tmp_path).run("index", "migrate")
    assert out.returncode == 2
    assert "NEWSDESK_DATABASE_URL is not set" in one_line_error(out)


@pytest.mark.postgres
def test_migrate_then_rebuild_ask_and_status_on_postgres(tmp_path: Path, database_url: str) -> None:
    ws = Workspace(tmp_path)
    ws.articles.mkdir()
    shutil.copy(REUTERS, ws.articles / REUTERS.name)
    env: dict[str, Any] = {"NEWSDESK_DATABASE_URL": database_url}
    first = ws.run("index", "migrate", "--json", **env)
    assert first.returncode == 0, first.stderr
    latest = migrations.LATEST
    assert json.loads(first.stdout)["applied"] == list(range(1, latest + 1))
    again = ws.run("index", "migrate", **env)
    assert again.returncode == 0 and f"up to date (migration {latest})" in again.stdout
    assert ws.run("index", "rebuild", **env).returncode == 0
    status = json.loads(ws.run("index", "status", "--json", **env).stdout)
    assert status["articles"] == 1 and status["location"].startswith("postgresql://")
    asked = ws.run("ask", "--json", "What did Kerry want from the Moscow talks?", **env)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["hits"]
    # The SQLite index was never made: the folder holds only this machine's caches.
    assert not list(ws.index.glob("*.sqlite3"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard-ids", "0,2", "--shard-count", "2"], "shard ids must be between 0 and 1"),
        (["--shard-ids", "0"], "--shard-ids needs --shard-count"),
        (["--shard-ids", "zero", "--shard-count", "2"], "numbers separated by commas"),
    ],
)
def test_bad_shard_options_get_one_line_before_anything_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = Workspace(tmp_path).run("run", *args)
    assert out.returncode == 2
    assert message in one_line_error(out)
