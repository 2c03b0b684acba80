"""Robustness of the commands (issue 14): large bulk files, linked folders, bad lines said
once, refusals that name the setting. Through the real `newsdesk` entry point."""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.cli.helpers import NEWSDESK, Workspace

WORDS = (
    "harbour council bridge budget river school election storm farmers market railway "
    "museum hospital festival library orchestra volcano glacier satellite vaccine"
).split()


def write_bulk(
    path: Path,
    count: int,
    *,
    words_each: int,
    bad: dict[int, str] | None = None,
    padding: int = 0,
) -> None:
    """`count` articles of about `words_each` words, one per line, each with `padding`
    bytes of page markup beside its text (as exports carry; kept, not encoded); `bad` puts a
    bad line at a line number."""
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
            if padding:
                record["html"] = "<p>" + "x" * padding + "</p>"
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
    write_bulk(bulk, 2000, words_each=60, padding=7200)  # the size, not the encoding, counts
    with bulk.open("a", encoding="utf-8") as handle:
        huge = {"id": "huge", "title": "Huge", "text": "word " * 1_100_000}  # 5.5 MB
        handle.write(json.dumps(huge) + "\n")
    assert bulk.stat().st_size > 15_000_000
    big_chunks = {"NEWSDESK_CHUNK_TOKENS": "256", "NEWSDESK_SENTENCE_VECTORS": "0"}

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
    rebuilt = ws.run("index", "rebuild")  # said by the add: counted, not warned about again
    assert "1 line skipped: imported/feed.jsonl line 3 invalid JSON" in rebuilt.stdout
    assert "line 3" not in rebuilt.stderr


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


def _read_only_runner(ws: Workspace) -> tuple[str, list[str]]:
    """How to make the index folder really read-only here, and the command prefix that runs
    `newsdesk` under it: file modes for a user; for root (whom modes do not stop) a
    read-only bind mount in a private mount namespace, else the setting that opens it so."""
    if os.geteuid() != 0:
        for path in [ws.index, *ws.index.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return "modes", []
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && ! touch "$0/.probe"',
         str(ws.index)],
        capture_output=True, check=False,
    )  # fmt: skip
    if probe.returncode == 0:
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        return "mount", ["unshare", "-m", "sh", "-c", script, str(ws.index)]
    return "setting", []


def test_a_read_only_index_folder_is_searched_and_changes_are_refused_plainly(
    ws: Workspace, tmp_path: Path
) -> None:
    (ws.articles / "bees.md").write_text(
        "# The life of honey bees\n\nA honey bee colony has one queen and thousands of "
        "workers. The queen lays up to two thousand eggs a day in spring.\n",
        encoding="utf-8",
    )
    assert ws.run("index", "rebuild").returncode == 0
    shutil.rmtree(ws.index / "derived")  # a writable index would save these again on open
    before = {p: p.stat().st_mtime_ns for p in ws.index.rglob("*")}
    articles_before = sorted(ws.articles.rglob("*"))
    how, prefix = _read_only_runner(ws)
    extra = {"NEWSDESK_INDEX_READ_ONLY": "1"} if how == "setting" else {}
    note = tmp_path / "owls.md"
    note.write_text("# Owls\n\nBarn owls hunt voles at dusk.\n", encoding="utf-8")

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *NEWSDESK, *args],
            cwd=ws.root, env=ws.env(**extra), input=input,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    try:
        ask = run("ask", "How many eggs does the queen lay?", "--json")
        assert ask.returncode == 0, ask.stderr
        assert json.loads(ask.stdout)["hits"][0]["article_id"] == "bees"
        assert run("sources").returncode == 0
        status = run("index", "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["articles"] == 1
        chat = run("chat", input="How many eggs does the queen lay?\n")
        assert chat.returncode == 0, chat.stderr
        assert "eggs" in chat.stdout
        for args in (["add", str(note)], ["remove", "bees"], ["index", "rebuild"]):
            out = run(*args)
            assert out.returncode == 1, (args, out.stdout, out.stderr)
            assert "read-only" in out.stderr, (args, out.stderr)
            assert "rebuild --full" not in out.stderr
            assert "Traceback" not in out.stderr
    finally:
        for path in [ws.index, *ws.index.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    after = {p: p.stat().st_mtime_ns for p in ws.index.rglob("*")}
    if how == "setting":  # SQLite's shared files beside a writer; nothing else is made
        after = {p: m for p, m in after.items() if not p.name.endswith(("-shm", "-wal"))}
    assert after == before, how
    assert sorted(ws.articles.rglob("*")) == articles_before


def test_a_write_waiting_for_another_process_says_so(ws: Workspace, tmp_path: Path) -> None:
    from retrieval.index import location

    (ws.articles / "bees.md").write_text("# Bees\n\nThe queen lays eggs.\n", encoding="utf-8")
    assert ws.run("index", "rebuild").returncode == 0
    note = tmp_path / "owls.md"
    note.write_text("# Owls\n\nBarn owls hunt voles at dusk.\n", encoding="utf-8")
    lines: queue.Queue[str] = queue.Queue()
    with location.write_lock(ws.index):  # this process writes the index
        child = ws.popen("add", str(note))
        try:
            assert child.stderr is not None
            stderr = child.stderr

            def read_stderr() -> None:
                for line in stderr:
                    lines.put(line)

            reader = threading.Thread(target=read_stderr, daemon=True)
            reader.start()
            line = lines.get(timeout=120)  # the first thing it says
            assert f"waiting for another newsdesk process (pid {os.getpid()})" in line
            assert child.poll() is None  # still waiting
        except BaseException:
            child.kill()
            raise
    with child:  # closes its pipes
        assert child.stdout is not None
        stdout = child.stdout.read()
        assert child.wait(timeout=120) == 0
        reader.join(timeout=120)
    assert "Added 1 article" in stdout


def test_the_index_folder_deleted_under_a_running_chat(ws: Workspace, tmp_path: Path) -> None:
    (ws.articles / "bees.md").write_text(
        "# Bees\n\nThe queen lays two thousand eggs a day.\n", encoding="utf-8"
    )
    assert ws.run("index", "rebuild").returncode == 0
    note = tmp_path / "owls.md"
    note.write_text("# Owls\n\nBarn owls hunt voles at dusk.\n", encoding="utf-8")
    chat = subprocess.Popen(
        [*NEWSDESK, "chat"],
        cwd=ws.root, env=ws.env(PYTHONUNBUFFERED="1"), text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert chat.stdout is not None and chat.stdin is not None
    stdout, stdin = chat.stdout, chat.stdin

    def read_stdout() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_stdout, daemon=True).start()

    def say(line: str, until: str | None = None) -> str:
        """What the chat replies to `line`, up to `until` (or its first line with words)."""
        stdin.write(line + "\n")
        stdin.flush()
        seen = ""
        while (until not in seen) if until is not None else not seen.strip():
            seen += lines.get(timeout=120)
        return seen

    with chat:
        try:
            say("/sources", until="(1 of 1)")
            shutil.rmtree(ws.index)
            reply = say(f"/add {note}")
            assert "was deleted while newsdesk was running; run `newsdesk index rebuild`" in reply
            assert "eggs" in say("How many eggs does the queen lay?", until="eggs")  # in memory
            stdin.close()
            assert chat.wait(timeout=120) == 0
        except BaseException:
            chat.kill()
            raise
    assert not (ws.articles / "owls.md").exists()
    assert not list(ws.index.glob("*.sqlite3*"))  # no empty database left behind
    out = ws.run("index", "status")
    assert out.returncode == 3 and "no index" in out.stderr and "damaged" not in out.stderr
    assert ws.run("index", "rebuild").returncode == 0
