"""Fixtures for the reliability tests: an index holding hostile-looking articles, a CLI
workspace on the same kind of index, and local HTTP servers that misbehave on purpose."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.settings import RetrievalSettings
from tests.cli.helpers import Workspace
from tests.factories import REUTERS, SAMPLE_ARTICLES, make_article

# Markdown, mentions and a javascript: link inside article text: quoted verbatim, harmlessly.
HOSTILE_ARTICLE = make_article(
    "harbour-notice",
    "@everyone **Harbour** notice <@&123456789012345678>",
    "@everyone the harbour ferry timetable changes on Monday. <@&123456789012345678> and "
    "<@987654321098765432> should read [the timetable](javascript:alert(1)) first.\n\n"
    "```\nrm -rf / # a code fence in the article\n```\n\n"
    "The first ferry now leaves the harbour at six in the morning, the port said.",
)
HTML_PAGE = (
    b"<html><head><title>Otters use tools</title></head><body><article>"
    b"<h1>Otters use tools</h1><p>Sea otters crack open shellfish with stones that they keep "
    b"in a pouch under their arm. Researchers watched otters reuse the same stone.</p>"
    b"</article></body></html>"
)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The shared sample articles plus one full of markdown and mentions."""
    engine.add([*SAMPLE_ARTICLES, HOSTILE_ARTICLE])
    return engine


@pytest.fixture
def small_limits(settings: RetrievalSettings) -> RetrievalSettings:
    """Limits small enough to hit with small inputs."""
    return settings.model_copy(
        update={
            "max_article_bytes": 20_000,
            "fetch_max_bytes": 1_000,
            "fetch_timeout_seconds": 1.0,
            "allow_private_urls": True,
        }
    )


@pytest.fixture
def limited_engine(small_limits: RetrievalSettings, embedder: HashingEmbedder) -> Engine:
    engine = Engine(small_limits, embedder).open()
    engine.add([*SAMPLE_ARTICLES, HOSTILE_ARTICLE])
    return engine


@pytest.fixture(scope="session")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A CLI workspace with the Reuters article and a bee note, indexed once per session."""
    workspace = Workspace(tmp_path_factory.mktemp("cli-template"))
    workspace.articles.mkdir(parents=True)
    shutil.copy(REUTERS, workspace.articles / REUTERS.name)
    (workspace.articles / "bees.md").write_text(
        "---\ntitle: The life of honey bees\n---\n"
        "A honey bee colony has one queen and thousands of workers. "
        "The queen lays up to two thousand eggs a day in spring.\n",
        encoding="utf-8",
    )
    out = workspace.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    return workspace


@pytest.fixture
def cli(cli_template: Workspace, tmp_path: Path) -> Workspace:
    """A copy of the template workspace, for one test to change."""
    workspace = Workspace(tmp_path / "ws")
    shutil.copytree(cli_template.root, workspace.root)
    return workspace


class _Handler(BaseHTTPRequestHandler):
    """Routes: /page, /status/<code>, /type/<main>/<sub>, /endless, /silent, /redirect?to=."""

    stop: threading.Event

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/page":
            self._send(200, "text/html; charset=utf-8", HTML_PAGE)
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), "text/html", b"<p>nope</p>")
        elif path.startswith("/type/"):
            self._send(200, path.removeprefix("/type/"), b"%PDF-1.7 not a page")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", unquote(query.removeprefix("to=")))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            chunk = b"<p>" + b"x" * 8192 + b"</p>"
            try:
                while not self.stop.is_set():
                    self.wfile.write(chunk)
            except OSError:
                return  # the client hung up at its size cap
        elif path == "/silent":
            self.stop.wait(timeout=30)  # never answers within any test's timeout
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def site() -> Iterator[str]:
    """A misbehaving web server on 127.0.0.1 (threaded, so sync callers can use it)."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
