"""`newsdesk gaps` on a gaps store filled directly (as the bot would)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot.discord_app.gaps import FILE_NAME, GapStore
from tests.cli.helpers import Workspace

NOV = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC).timestamp()
DEC = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC).timestamp()


def test_gaps_json_groups_similar_questions(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    store = GapStore(ws.index / FILE_NAME).open()
    store.record(1, "When does the library open on Sundays?", "no-match", now=NOV)
    store.record(1, "when does the library open on sunday", "thumbs-down", now=DEC)
    store.record(1, "Who won the chess final?", "no-match", now=DEC - 60)
    store.record(2, "A question in another server", "no-match", now=DEC)

    out = ws.run("gaps", "--json", "--guild", "1")
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)
    assert [(g["count"], g["no_match"], g["thumbs_down"]) for g in groups] == [(2, 1, 1), (1, 1, 0)]
    assert groups[0]["question"] == "when does the library open on sunday"  # most recent tie
    assert groups[0]["others"] == ["When does the library open on Sundays?"]
    assert groups[0]["first"].startswith("2026-11-01") and groups[0]["last"].startswith(
        "2026-12-02"
    )
    assert groups[1]["question"] == "Who won the chess final?"
    assert "guild" not in out.stdout and "user" not in out.stdout

    since = json.loads(ws.run("gaps", "--json", "--since", "2026-11-15").stdout)
    assert sorted(g["count"] for g in since) == [1, 1, 1]

    table = ws.run("gaps", "--limit", "1")
    assert table.returncode == 0, table.stderr
    assert "when does the library open on sunday" in table.stdout
    assert "chess" not in table.stdout


def test_gaps_says_when_nothing_is_recorded(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    out = ws.run("gaps")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("No gaps recorded.")
    assert not (ws.index / FILE_NAME).exists()
    assert json.loads(ws.run("gaps", "--json").stdout) == []
