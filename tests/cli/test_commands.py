"""Every command through the real `newsdesk` entry point (hashing encoder, temp folders)."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import pytest

from tests.cli.helpers import Workspace
from tests.factories import EVAL, REUTERS, REUTERS_TITLE
from tests.loaders.pdfs import STORY, make_pdf

KERRY_QUESTION = "What did Kerry want from the Moscow talks?"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path)
    workspace.articles.mkdir()
    shutil.copy(REUTERS, workspace.articles / REUTERS.name)
    (workspace.articles / "bees.md").write_text(
        "---\ntitle: The life of honey bees\nsource: Field Notes\n---\n"
        "A honey bee colony has one queen and thousands of workers. "
        "The queen lays up to two thousand eggs a day in spring.\n",
        encoding="utf-8",
    )
    (workspace.articles / "broken.txt").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    return workspace


@pytest.fixture
def built(ws: Workspace) -> Workspace:
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    return ws


def one_line_error(out: object) -> str:
    stderr = getattr(out, "stderr", "")
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["index"],
        ["index", "rebuild"],
        ["index", "status"],
        ["index", "migrate"],
        ["add"],
        ["remove"],
        ["ask"],
        ["eval"],
        ["chat"],
        ["sources"],
        ["gaps"],
        ["run"],
    ],
)
def test_every_command_has_help_with_examples(ws: Workspace, command: list[str]) -> None:
    out = ws.run(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert "Usage: newsdesk" in out.stdout
    assert "Examples:" in out.stdout


def test_rebuild_indexes_the_folder_and_skips_the_bad_file(ws: Workspace) -> None:
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    summary = out.stdout.strip().splitlines()[-1]
    assert summary.startswith("Index synced: 2 added, 0 changed, 0 removed, 0 unchanged")
    assert "1 bad files skipped" in summary
    assert "broken.txt" in out.stderr
    again = ws.run("index", "rebuild")
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in again.stdout
    assert "; 0 chunks encoded" in again.stdout
    (ws.articles / "bees.md").unlink()
    third = ws.run("index", "rebuild")
    assert "0 added, 0 changed, 1 removed, 1 unchanged" in third.stdout


def test_full_rebuild(built: Workspace) -> None:
    out = built.run("index", "rebuild", "--full")
    assert out.returncode == 0, out.stderr
    assert "Index rebuilt: 0 added, 2 changed" in out.stdout


def test_status(built: Workspace) -> None:
    out = built.run("index", "status", "--json")
    data = json.loads(out.stdout)
    assert (data["articles"], data["model"], data["dimension"]) == (2, "hashing:256", 256)
    assert data["chunks"] >= 2 and data["size_bytes"] > 0 and data["last_build"]
    assert data["sentences"] > data["chunks"]  # the Reuters article has several passages
    text = built.run("index", "status").stdout
    assert "Articles:" in text and "Sentences:" in text and "Size on disk:" in text


def test_ask_json_cites_the_reuters_article(built: Workspace) -> None:
    out = built.run("ask", KERRY_QUESTION, "--json", "-k", "2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["question"] == KERRY_QUESTION and data["abstained"] is False
    top = data["hits"][0]
    assert top["title"] == REUTERS_TITLE
    text = REUTERS.read_text(encoding="utf-8")
    assert top["excerpt"] in text and top["highlight"] in top["excerpt"]
    assert set(top) >= {"article_id", "url", "published", "start", "end", "score"}


def test_ask_says_why_it_abstained_and_labels_hits(built: Workspace) -> None:
    vague = built.run("ask", "what is it?", "--json")
    assert vague.returncode == 0, vague.stderr
    data = json.loads(vague.stdout)
    assert (data["abstained"], data["reason"], data["hits"]) == (True, "vague", [])
    text = built.run("ask", "what is it?").stdout
    assert text.startswith("Ask about something specific")
    answered = json.loads(built.run("ask", KERRY_QUESTION, "--json").stdout)
    assert answered["reason"] is None and answered["left_out"] >= 0
    assert answered["hits"][0]["label"] in ("strong match", "good match", "partial match")


def test_ask_prints_numbered_excerpts(built: Workspace) -> None:
    out = built.run("ask", "How many eggs does the queen lay?", "--mode", "bm25")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[1] The life of honey bees (Field Notes)")
    assert "**The queen lays up to two thousand eggs a day in spring.**" in out.stdout


def test_ask_mistakes_are_one_line_errors(built: Workspace, ws: Workspace) -> None:
    empty = built.run("ask", "   ")
    assert empty.returncode == 2  # what the command was given: as for click's own mistakes
    assert one_line_error(empty).startswith("error: Ask a question")
    bad_mode = built.run("ask", "x", "--mode", "magic")
    assert bad_mode.returncode == 2 and "Traceback" not in bad_mode.stderr
    bad_setting = built.run("ask", "bees", NEWSDESK_TOP_K="many")
    assert bad_setting.returncode == 2
    assert "top_k" in one_line_error(bad_setting)


def test_ask_without_an_index_says_what_to_run(ws: Workspace) -> None:
    out = ws.run("ask", "anything")
    assert out.returncode == 3  # the index must be built first
    assert one_line_error(out).endswith("; run `newsdesk index rebuild`")


def test_model_mismatch_names_the_fix(built: Workspace) -> None:
    out = built.run("ask", "bees", NEWSDESK_MODEL="hashing:64")
    assert out.returncode == 3
    assert "newsdesk index rebuild --full" in one_line_error(out)


def test_rebuild_after_a_settings_change_rebuilds_in_full(built: Workspace) -> None:
    """`make run` starts with `index rebuild`: it must recover, not stop at the mismatch."""
    out = built.run("index", "rebuild", NEWSDESK_MODEL="hashing:64")
    assert out.returncode == 0, out.stderr
    assert "model 'hashing:256' (now 'hashing:64')" in out.stderr
    assert "rebuilding it in full" in out.stderr
    assert "Index rebuilt:" in out.stdout
    assert built.run("ask", "bees", NEWSDESK_MODEL="hashing:64").returncode == 0


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (
            b"<html><head><title>Otters use tools</title></head><body><article>"
            b"<h1>Otters use tools</h1><p>Sea otters crack open shellfish with stones they "
            b"keep in a pouch under their arm. Researchers watched otters off California "
            b"reuse the same favourite stone for weeks.</p></article></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = cast(tuple[str, int], server.server_address[:2])
    yield f"http://{host}:{port}/otters.html"
    server.shutdown()
    server.server_close()


def test_add_file_url_and_remove(built: Workspace, tmp_path: Path, page_url: str) -> None:
    note = tmp_path / "elsewhere" / "moon.md"
    note.parent.mkdir()
    note.write_text("# Moon landing\n\nApollo 11 landed on the Moon in July 1969.\n")
    out = built.run("add", str(note), page_url, NEWSDESK_ALLOW_PRIVATE_URLS="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Added 2 articles")
    assert (built.articles / "moon.md").exists()
    saved = list((built.articles / "web").glob("*.md"))
    assert len(saved) == 1 and "Otters use tools" in saved[0].read_text()

    answer = json.loads(
        built.run("ask", "What do sea otters crack shellfish with?", "--json").stdout
    )
    assert answer["hits"][0]["title"] == "Otters use tools"
    assert answer["hits"][0]["url"].startswith(page_url.rsplit("/", 1)[0])

    again = built.run("add", str(note))
    assert "already indexed" in again.stdout or "already indexed" in again.stderr

    listing = built.run("sources", "moon").stdout
    assert "Moon landing" in listing and "1 of 1 articles" in listing

    removed = built.run("remove", "moon", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "Removed moon: Moon landing" in removed.stdout
    assert not (built.articles / "moon.md").exists()
    answer = json.loads(built.run("ask", "Apollo Moon landing 1969", "--json").stdout)
    assert all(h["title"] != "Moon landing" for h in answer["hits"])

    missing = built.run("remove", "moon")
    assert missing.returncode == 1 and "no article" in one_line_error(missing)


def test_add_a_pdf_then_ask(built: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "elsewhere" / "bridge-vote.pdf"
    source.parent.mkdir()
    source.write_bytes(make_pdf(STORY, metadata={"/CreationDate": "D:20250304101500Z"}))
    out = built.run("add", str(source))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Added 1 article")
    assert (built.articles / "bridge-vote.pdf").read_bytes() == source.read_bytes()
    answer = json.loads(built.run("ask", "How much will the new bridge cost?", "--json").stdout)
    hit = answer["hits"][0]
    assert (hit["title"], hit["published"]) == (
        "Council backs new bridge", "2025-03-04T10:15:00+00:00"
    )  # fmt: skip
    assert "4.2 million euros" in hit["excerpt"]


def test_sources_sort_by_published_or_added_and_show_dates(
    built: Workspace, tmp_path: Path
) -> None:
    (built.articles / "old.md").write_text(
        "---\ntitle: Old story\npublished: 2015-12-15T15:45:00-05:00\n"
        "updated: 2015-12-16T09:00:00-05:00\n---\nThe old story happened long ago.\n"
    )
    (built.articles / "new.md").write_text(
        "---\ntitle: New story\npublished: 2024-05-01\n---\nThe new story happened lately.\n"
    )
    assert built.run("index", "rebuild").returncode == 0
    later = tmp_path / "elsewhere" / "oldest.md"
    later.parent.mkdir()
    later.write_text("# Oldest story\n\n*By Priya Nair — 3 March 2001*\n\nIt was long ago.\n")
    assert built.run("add", str(later)).returncode == 0

    lines = built.run("sources").stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines[:3]] == [
        ["new", "1 May 2024"], ["old", "15 Dec 2015"], ["oldest", "3 Mar 2001"]
    ]  # fmt: skip
    assert {line.split("\t")[1] for line in lines[3:5]} == {"undated"}
    assert lines[-1] == "5 of 5 articles"

    added = built.run("sources", "--sort", "added").stdout.splitlines()
    assert added[0].split("\t")[0] == "oldest"

    data = json.loads(built.run("sources", "--json", "--limit", "2").stdout)
    assert (data["order"], data["total"]) == ("published", 5)
    first, second = data["articles"]
    assert (first["id"], first["published"]) == ("new", "2024-05-01T00:00:00+00:00")
    assert (second["published"], second["updated"]) == (
        "2015-12-15T15:45:00-05:00",
        "2015-12-16T09:00:00-05:00",
    )
    assert set(first) == {
        "id", "title", "url", "published", "updated", "source", "added", "chunks", "group"
    }  # fmt: skip
    by_added = json.loads(built.run("sources", "--json", "--sort", "added").stdout)
    assert by_added["order"] == "added" and by_added["articles"][0]["id"] == "oldest"
    assert by_added["articles"][0]["added"] >= by_added["articles"][1]["added"]


def test_add_refuses_private_urls_by_default(built: Workspace, page_url: str) -> None:
    out = built.run("add", page_url)
    assert out.returncode == 1
    assert "skipped" in out.stderr and "Traceback" not in out.stderr


def test_eval_json_on_a_small_set(ws: Workspace, tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    queries = tmp_path / "queries.jsonl"
    lines = (EVAL / "squad" / "articles_full.jsonl").read_text().splitlines()[:3]
    articles.write_text("\n".join(lines) + "\n")
    ids = {json.loads(line)["id"] for line in lines}
    picked = [
        line
        for line in (EVAL / "squad" / "queries_full.jsonl").read_text().splitlines()
        if json.loads(line)["relevant_article_ids"][0] in ids
    ][:40]
    ood = (EVAL / "out_of_domain" / "cranfield_questions_for_squad.jsonl").read_text()
    queries.write_text("\n".join(picked) + "\n")
    unanswerable = tmp_path / "ood.jsonl"
    unanswerable.write_text("\n".join(ood.splitlines()[:10]) + "\n")
    out = ws.run(
        "eval",
        "--articles",
        str(articles),
        "--queries",
        str(queries),
        "--queries",
        str(unanswerable),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {
        "ans@1",
        "ans@5",
        "hit@1",
        "hit@5",
        "hit@10",
        "mrr@10",
        "ndcg@10",
        "abstained",
        "abstained_answerable",
        "queries",
    }
    assert data["queries"] == 50
    assert data["hit@5"] > 0.5  # the lexical test encoder still finds most articles
    table = ws.run(
        "eval",
        "--articles",
        str(articles),
        "--queries",
        str(queries),
        "--mode",
        "all",
        "--index",
        str(tmp_path / "kept"),
    )
    assert table.returncode == 0, table.stderr
    assert all(mode in table.stdout for mode in ("hybrid", "dense", "bm25"))
    assert (tmp_path / "kept" / "current.json").exists()
    # A kept index from other settings (or an older newsdesk) is rebuilt, not an error.
    again = ws.run(
        "eval",
        "--articles",
        str(articles),
        "--queries",
        str(queries),
        "--index",
        str(tmp_path / "kept"),
        "--json",
        NEWSDESK_CHUNK_TOKENS="128",
    )
    assert again.returncode == 0, again.stderr
    assert "rebuilding" in again.stderr and "chunk_tokens" in again.stderr
    assert json.loads(again.stdout)["queries"] == 40


def test_chat_answers_and_takes_commands(built: Workspace) -> None:
    script = f"{KERRY_QUESTION}\n/more\n/status\n/sources\n/remove bees\n/nonsense\n/quit\n"
    out = built.run("chat", input=script)
    assert out.returncode == 0, out.stderr
    assert REUTERS_TITLE in out.stdout
    assert "Articles: 2" in out.stdout
    assert "Removed bees" in out.stdout
    assert "Unknown command /nonsense" in out.stdout


def test_run_without_token_explains(built: Workspace) -> None:
    out = built.run("run", DISCORD_TOKEN="")
    assert out.returncode != 0
    assert "DISCORD_TOKEN" in one_line_error(out)


def test_port_helper_is_loopback_only() -> None:
    # The URL test server above binds loopback; nothing here may reach another host.
    assert socket.gethostbyname("localhost").startswith("127.")
