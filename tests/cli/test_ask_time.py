"""`newsdesk ask` with time: --at, --since/--before, operators, --no-time, and what the
answer says about the window it kept to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import Workspace

STORY = {
    "w1": (
        "2025-09-01T09:00:00Z",
        "Boil-water notice for Millbrook",
        "E. coli was found in the Millbrook reservoir; residents must boil water.",
    ),
    "w2": (
        "2025-09-02T09:00:00Z",
        "Millbrook schools close over water",
        "Three Millbrook schools closed while the reservoir water was tested.",
    ),
    "w4": (
        "2025-09-04T09:00:00Z",
        "Millbrook boil-water notice lifted",
        "The Millbrook boil-water notice was lifted after clean reservoir tests.",
    ),
}


@pytest.fixture
def dated(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.articles.mkdir()
    for name, (published, title, text) in STORY.items():
        (ws.articles / f"{name}.md").write_text(
            f"---\ntitle: {title}\npublished: {published}\n---\n\n{text}\n", encoding="utf-8"
        )
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    return ws


def _ids(out: object) -> list[str]:
    data = json.loads(getattr(out, "stdout", ""))
    return list(dict.fromkeys(hit["article_id"] for hit in data["hits"]))


def test_at_answers_as_of_that_day(dated: Workspace) -> None:
    out = dated.run("ask", "Millbrook boil-water notice", "--at", "2025-09-02", "--json")
    assert out.returncode == 0, out.stderr
    assert set(_ids(out)) <= {"w1", "w2"} and _ids(out)
    data = json.loads(out.stdout)
    assert data["asked_at"].startswith("2025-09-02T23:59:59")


def test_since_and_before_options_and_the_window_line(dated: Workspace) -> None:
    out = dated.run(
        "ask", "Millbrook water", "--since", "2025-09-02", "--before", "2025-09-04", "--json"
    )
    assert _ids(out) == ["w2"]
    assert json.loads(out.stdout)["window"]["since"].startswith("2025-09-02")
    text = dated.run("ask", "Millbrook water since:2025-09-02 before:2025-09-04")
    assert text.stdout.splitlines()[0] == "Articles from 2–3 Sep 2025."


def test_latest_and_no_time(dated: Workspace) -> None:
    question = "What is the latest on the Millbrook boil-water notice?"
    latest = dated.run("ask", question, "--at", "2025-09-04", "--json")
    assert _ids(latest)[0] == "w4"
    plain = dated.run("ask", "Millbrook boil-water notice since:2025-09-04", "--no-time", "--json")
    assert json.loads(plain.stdout)["window"] is None  # operators are words without time


def test_an_empty_window_names_the_newest_article_before_it(dated: Workspace) -> None:
    out = dated.run("ask", "What happened on Wednesday?", "--at", "2025-09-04")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == (
        "No articles on 3 Sep 2025. The newest before that: "
        "Millbrook schools close over water (2 Sep 2025)."
    )


def test_bad_dates_are_one_line_errors(dated: Workspace) -> None:
    out = dated.run("ask", "water", "--since", "soon")
    assert out.returncode == 2 and "'soon' is not a date" in out.stderr
    out = dated.run("ask", "water before:later")
    assert out.returncode == 2 and "before:later is not a date" in out.stderr
