"""Robustness of the commands (issue 14): large bulk files, linked folders, bad lines said
once, refusals that name the setting. Through the real `newsdesk` entry point."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.cli.helpers import Workspace

WORDS = (
    "harbour council bridge budget river school election storm farmers market railway "
    "museum hospital festival library orchestra volcano glacier satellite vaccine"
).split()


def write_bulk(
    path: Path, count: int, *, words_each: int, bad: dict[int, str] | None = None
) -> None:
    """`count` articles of about `words_each` words, one per line; `bad` puts a bad line at
    a line number."""
    rng = random.Random(14)
    bad = bad or {}
    with path.open("w", encoding="utf-8") as handle:
        lineno, written = 0, 0
        while written < count:
            lineno += 1
            if lineno in bad:
                handle.write(bad[lineno] + "\n")
                continue
            text = " ".join(rng.choice(WORDS) for _ in range(words_each))
            record = {"id": f"story-{written}", "title": f"Story {written}", "text": f"{text}."}
            handle.write(json.dumps(record) + "\n")
            written += 1


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path)
    workspace.articles.mkdir()
    return workspace


def test_a_bulk_file_over_the_article_limit_is_read_record_by_record(
    ws: Workspace, tmp_path: Path
) -> None:
    """A 2,000-article export of ~15 MB (limit 5 MB per article) in add, index rebuild and
    eval; a line over the limit is the only one left out."""
    bulk = tmp_path / "export.jsonl"
    write_bulk(bulk, 2000, words_each=1000)
    with bulk.open("a", encoding="utf-8") as handle:
        huge = {"id": "huge", "title": "Huge", "text": "word " * 1_100_000}  # 5.5 MB
        handle.write(json.dumps(huge) + "\n")
    assert bulk.stat().st_size > 15_000_000
    # Hashing encoder, one chunk per article: the test measures reading, not encoding.
    big_chunks = {"NEWSDESK_CHUNK_TOKENS": "512", "NEWSDESK_SENTENCE_VECTORS": "0"}

    out = ws.run("add", str(bulk), timeout=300, **big_chunks)
    assert out.returncode == 0, out.stderr
    assert "export.jsonl is larger than" not in out.stderr  # refused whole, as it was
    assert "Added 2000 articles" in out.stdout
    assert "1 line skipped: line 2001 larger than the 5 MB limit of one article" in out.stdout

    out = ws.run("index", "rebuild", timeout=300, **big_chunks)
    assert out.returncode == 0, out.stderr
    assert "Now 2000 articles" in out.stdout
    assert "export.jsonl is larger than" not in out.stderr
    assert "1 line skipped: imported/export.jsonl line 2001 larger than" in out.stdout

    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        json.dumps({"qid": "1", "question": "Story 7", "relevant_article_ids": ["story-7"]}) + "\n"
    )
    out = ws.run(
        "eval", "--articles", str(bulk), "--queries", str(queries), "--json",
        timeout=300, **big_chunks,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["queries"] == 1


def test_bad_lines_are_counted_and_warned_about_once(ws: Workspace) -> None:
    bulk = ws.articles / "feed.jsonl"
    write_bulk(bulk, 3, words_each=30, bad={3: "{not json"})
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    assert "1 line skipped: feed.jsonl line 3 invalid JSON" in out.stdout
    assert "feed.jsonl line 3 skipped: invalid JSON" in out.stderr  # the warning, once

    again = ws.run("index", "rebuild")
    assert again.returncode == 0, again.stderr
    assert "1 line skipped: feed.jsonl line 3 invalid JSON" in again.stdout  # still counted
    assert "line 3" not in again.stderr  # not warned about again

    with bulk.open("a", encoding="utf-8") as handle:
        handle.write("[1, 2]\n")  # the file changed: its bad lines are news again
    changed = ws.run("index", "rebuild")
    assert "feed.jsonl line 3 skipped" in changed.stderr
    assert "feed.jsonl line 5 skipped: not a JSON object" in changed.stderr


def test_add_counts_bad_lines_in_its_summary(ws: Workspace, tmp_path: Path) -> None:
    bulk = tmp_path / "feed.jsonl"
    write_bulk(bulk, 3, words_each=30, bad={3: "{not json"})
    out = ws.run("add", str(bulk))
    assert out.returncode == 0, out.stderr
    assert "Added 3 articles" in out.stdout
    assert "1 line skipped: line 3 invalid JSON" in out.stdout


def test_linked_folders_are_followed_and_loops_skipped_with_a_warning(
    ws: Workspace, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "owls.md").write_text(
        "# Owls at night\n\nBarn owls hunt voles over the meadow at dusk.\n", encoding="utf-8"
    )
    (ws.articles / "linked").symlink_to(outside, target_is_directory=True)
    (outside / "back").symlink_to(outside, target_is_directory=True)  # a loop
    (ws.articles / "loop").symlink_to(ws.articles, target_is_directory=True)  # another
    out = ws.run("index", "rebuild", timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Now 1 articles" in out.stdout
    assert "skipped linked/back/: a link that loops back to linked/" in out.stderr
    assert "skipped loop/: a link that loops back to the articles folder" in out.stderr
    listed = json.loads(ws.run("sources", "--json").stdout)
    assert [a["id"] for a in listed["articles"]] == ["linked/owls"]


def test_the_refusal_of_a_private_url_names_the_setting(ws: Workspace) -> None:
    out = ws.run("add", "http://127.0.0.1:9/page")
    assert out.returncode == 1
    assert "127.0.0.1 is a loopback address, which is refused" in out.stderr
    assert "NEWSDESK_ALLOW_PRIVATE_URLS=1" in out.stderr
