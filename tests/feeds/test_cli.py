"""`newsdesk feeds` in a subprocess against a feed server on loopback, and a poll killed with
SIGKILL half-way: the next poll picks it up, nothing is indexed twice, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.helpers import NEWSDESK, Workspace
from tests.feeds.server import FeedServer, Route, rss
from tests.feeds.test_polling import OTHER, STORY

FEED_ENV = {"NEWSDESK_ALLOW_PRIVATE_URLS": "1", "NEWSDESK_FETCH_TIMEOUT_SECONDS": "20"}


def _run(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return ws.run(*args, NEWSDESK_ALLOW_PRIVATE_URLS="1", NEWSDESK_FETCH_TIMEOUT_SECONDS="20")


def _workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.articles.mkdir(parents=True)
    return workspace


def _feed(server: FeedServer, count: int = 2) -> str:
    items = []
    for n in range(count):
        paragraphs = STORY if n % 2 == 0 else OTHER
        link = server.page(f"/news/{n}", f"Story number {n}", [f"Report {n}.", *paragraphs])
        items.append({"title": f"Story number {n}", "link": link, "guid": f"g{n}"})
    return server.set("/feed.xml", Route(rss("Town News", items), etag='"1"'))


def test_add_list_poll_remove(tmp_path: Path, feed_server: FeedServer) -> None:
    ws = _workspace(tmp_path)
    url = _feed(feed_server)
    added = _run(ws, "feeds", "add", url)
    assert added.returncode == 0, added.stderr
    assert "Following Town News (feed 1, rss)" in added.stdout
    assert "Town News: 2 new" in added.stdout

    listed = json.loads(_run(ws, "feeds", "list", "--json").stdout)
    [feed] = listed["feeds"]
    assert (feed["id"], feed["title"], feed["entries"], feed["state"]) == (1, "Town News", 2, "ok")
    assert feed["last_error"] is None and feed["last_poll"] is not None

    polled = _run(ws, "feeds", "poll")
    assert polled.returncode == 0, polled.stderr
    assert "Town News: not modified" in polled.stdout
    assert "Polled 1 feed: 0 new articles." in polled.stdout

    asked = ws.run("ask", "When does construction of the ferry terminal begin?")
    assert "Story number 0" in asked.stdout

    removed = _run(ws, "feeds", "remove", "1")
    assert "No longer following Town News" in removed.stdout
    assert "No feeds yet" in _run(ws, "feeds", "list").stdout
    assert "Story number 0" in ws.run("sources").stdout  # the articles stay
    missing = _run(ws, "feeds", "remove", "1")
    assert missing.returncode == 1
    assert "error: no feed with id 1; run `newsdesk feeds list`" in missing.stderr


def test_a_page_naming_no_feed_is_one_clear_line(tmp_path: Path, feed_server: FeedServer) -> None:
    ws = _workspace(tmp_path)
    page = feed_server.page("/home", "Home", ["Welcome to the site."])
    out = _run(ws, "feeds", "add", page)
    assert out.returncode == 1
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("error: 127.0.0.1 is a web page that names no feed")


def test_a_killed_poll_is_picked_up_by_the_next(tmp_path: Path, feed_server: FeedServer) -> None:
    """SIGKILL while the poll is fetching entry pages (one page never finishes in time)."""
    ws = _workspace(tmp_path)
    url = _feed(feed_server, count=3)
    slow = feed_server.routes["/news/2"]
    assert isinstance(slow, Route)
    feed_server.set("/news/2", Route(slow.body, content_type=slow.content_type, silent=True))
    assert _run(ws, "feeds", "add", url, "--no-poll").returncode == 0
    child = subprocess.Popen(
        [*NEWSDESK, "feeds", "poll"],
        env=ws.env(**FEED_ENV),
        cwd=ws.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while feed_server.hits.get("/news/2", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed_server.hits.get("/news/2", 0) == 1, "the poll never reached the slow page"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    feed_server.set("/news/2", slow)  # the server is back to normal
    again = _run(ws, "feeds", "poll", "--json")
    assert again.returncode == 0, again.stderr
    [poll] = json.loads(again.stdout)["polls"]
    assert sorted(a["title"] for a in poll["added"]) == [f"Story number {n}" for n in range(3)]
    third = _run(ws, "feeds", "poll", "--json")
    assert json.loads(third.stdout)["polls"][0]["not_modified"]
    sources = json.loads(ws.run("sources", "--json").stdout)
    assert sources["total"] == 3


def test_feeds_json_and_global_options_after_the_subcommand(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    ws = _workspace(tmp_path)
    other = tmp_path / "other-index"
    url = _feed(feed_server, count=1)
    added = _run(ws, "feeds", "add", url, "--no-poll", "--json", "--index-dir", str(other))
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["feed"]["id"] == 1
    assert (other / "feeds.sqlite3").is_file() and not ws.index.exists()
    enabled = _run(ws, "feeds", "enable", "1", "--json", "--index-dir", str(other))
    assert json.loads(enabled.stdout)["feed"]["state"] in {"new", "ok"}
    removed = _run(ws, "feeds", "remove", "1", "--index-dir", str(other), "--json")
    assert removed.returncode == 0, removed.stderr
    feed = json.loads(removed.stdout)["feed"]
    assert (feed["id"], feed["title"], feed["url"]) == (1, "Town News", url)
