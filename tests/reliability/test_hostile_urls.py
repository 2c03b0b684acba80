"""Hostile URLs through `add_sources` and `newsdesk add`, against a server on 127.0.0.1 only:
each is refused with one line, in bounded time, and neither the index nor the articles folder
changes. The fetcher's own cases are in tests/loaders/test_fetch.py."""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any

import pytest

from retrieval.collection import add_sources
from retrieval.engine import Engine
from retrieval.loaders import fetch as fetch_module
from retrieval.settings import RetrievalSettings
from tests.cli.helpers import Workspace
from tests.reliability.helpers import folder_state, index_state, one_line

pytestmark = pytest.mark.timeout(120)

SCHEMES = {
    "file": ("file:///etc/passwd", "only http and https links can be fetched, not file:"),
    "ftp": ("ftp://ftp.example.com/story.txt", "not ftp:"),
    "data": ("data:text/html,<p>Bees make honey.</p>", "not data:"),
    "javascript": ("javascript:alert(1)", "not javascript:"),
    "no host": ("http:///story", "has no host name"),
    "credentials": ("http://user:secret@example.com/", "user name or password"),
}
PRIVATE = {
    "loopback v4": ("http://127.0.0.1:{port}/page", "127.0.0.1 is a loopback address"),
    "loopback v6": ("http://[::1]:{port}/page", "::1 is a loopback address"),
    "v4-mapped v6": ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
    "private 10/8": ("http://10.0.0.1/admin", "10.0.0.1 is a private address"),
    "private 192.168/16": ("http://192.168.1.1:8080/", "is a private address"),
    "link-local metadata": (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254 is a link-local address",
    ),
    "link-local v6": ("http://[fe80::1]/", "is a link-local address"),
    "unspecified": ("http://0.0.0.0:{port}/page", "is an unspecified address"),
    "carrier-grade NAT": ("http://100.64.0.1/", "is a non-public address"),
    "decimal loopback": ("http://2130706433:{port}/page", "is not a valid URL"),
    "short loopback": ("http://127.1:{port}/page", "is not a valid URL"),
    "localhost": ("http://localhost:{port}/page", "localhost resolves to a loopback address"),
}
# Names that resolve (through a patched getaddrinfo) to addresses a fetch may not reach.
RESOLVING = {
    "intranet.example": (["10.0.0.5"], "intranet.example resolves to a private address"),
    "metadata.example": (["169.254.169.254"], "resolves to a link-local address"),
    "rebind.example": (["93.184.215.14", "127.0.0.1"], "resolves to a loopback address"),
}
SERVER = {
    "timeout": ("/silent", "did not answer within 1 s"),
    "endless body": ("/endless", "page is larger than 1 kB"),
    "damaged pdf": ("/type/application/pdf", "is not a readable PDF (damaged or incomplete?)"),
    "image": ("/type/image/png", "unsupported content type image/png"),
    "octet-stream": ("/type/application/octet-stream", "unsupported content type"),
    "404": ("/status/404", "answered HTTP 404"),
    "500": ("/status/500", "answered HTTP 500"),
    "503": ("/status/503", "answered HTTP 503"),
}


def _refused(
    engine: Engine, settings: RetrievalSettings, url: str, reason: str, *, seconds: float = 5
) -> None:
    before, files = index_state(engine.index_dir), folder_state(settings.articles_dir)
    started = time.monotonic()
    outcome = add_sources(engine, settings, [url])
    assert time.monotonic() - started < seconds
    assert outcome.failed == [url]
    message = one_line("\n".join(outcome.messages))
    assert message.startswith(f"skipped {url}: ") and reason in message, message
    assert outcome.report.written == []
    assert index_state(engine.index_dir) == before
    assert folder_state(settings.articles_dir) == files


@pytest.fixture
def guarded(small_limits: RetrievalSettings) -> RetrievalSettings:
    return small_limits.model_copy(update={"allow_private_urls": False})


@pytest.mark.parametrize(("url", "reason"), list(SCHEMES.values()), ids=list(SCHEMES))
def test_non_http_links_are_refused(
    limited_engine: Engine, guarded: RetrievalSettings, url: str, reason: str
) -> None:
    _refused(limited_engine, guarded, url, reason)


@pytest.mark.parametrize(("url", "reason"), list(PRIVATE.values()), ids=list(PRIVATE))
def test_private_addresses_are_refused(
    limited_engine: Engine, guarded: RetrievalSettings, site: str, url: str, reason: str
) -> None:
    port = site.rsplit(":", 1)[1]
    _refused(limited_engine, guarded, url.format(port=port), reason)


@pytest.mark.parametrize(("host", "case"), list(RESOLVING.items()), ids=list(RESOLVING))
def test_names_resolving_to_private_addresses_are_refused(
    limited_engine: Engine,
    guarded: RetrievalSettings,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    case: tuple[list[str], str],
) -> None:
    addresses, reason = case
    real = socket.getaddrinfo

    def fake_dns(name: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if name != host:
            return real(name, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 80))) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    _refused(limited_engine, guarded, f"http://{host}/story.html", reason)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://localhost:{port}/page", "localhost resolves to a loopback address"),
        ("http://[::1]:{port}/page", "::1 is a loopback address"),
        ("file:///etc/passwd", "not file:"),
        ("ftp://example.com/x", "not ftp:"),
    ],
    ids=["metadata", "private", "localhost", "v6-loopback", "file", "ftp"],
)
def test_redirects_into_private_space_are_refused(
    limited_engine: Engine,
    guarded: RetrievalSettings,
    site: str,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    reason: str,
) -> None:
    """The test server stands in for a public site (127.0.0.1 counts as public for the first
    hop only), then redirects somewhere private."""
    real = fetch_module.refusal_reason  # type: ignore[attr-defined]  # as fetch sees it

    def server_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(ip) == "127.0.0.1" else real(ip)

    monkeypatch.setattr(fetch_module, "refusal_reason", server_is_public)
    port = site.rsplit(":", 1)[1]
    url = f"{site}/redirect?to={target.format(port=port)}"
    _refused(limited_engine, guarded, url, reason)


@pytest.mark.parametrize(("path", "reason"), list(SERVER.values()), ids=list(SERVER))
def test_misbehaving_servers_are_refused(
    limited_engine: Engine, small_limits: RetrievalSettings, site: str, path: str, reason: str
) -> None:
    _refused(limited_engine, small_limits, site + path, reason, seconds=3)


def test_a_good_page_from_the_same_server_is_added(
    limited_engine: Engine, small_limits: RetrievalSettings, site: str
) -> None:
    """The control: the server and settings above do let a real page through."""
    outcome = add_sources(limited_engine, small_limits, [site + "/page"])
    assert outcome.failed == [] and len(outcome.report.added) == 1
    top = limited_engine.search("What do sea otters crack shellfish with?").hits[0]
    assert top.title == "Otters use tools"


def test_cli_refuses_every_hostile_url_in_one_line_each(cli: Workspace, site: str) -> None:
    """One `newsdesk add` per policy (private allowed or not), every URL named on its line."""
    port = site.rsplit(":", 1)[1]
    before, files = index_state(cli.index), folder_state(cli.articles)
    runs = [
        ({}, [*SCHEMES.values(), *PRIVATE.values()]),
        ({"NEWSDESK_ALLOW_PRIVATE_URLS": "1"}, [(site + p, r) for p, r in SERVER.values()]),
    ]
    for env, cases in runs:
        urls = [url.format(port=port) for url, _ in cases]
        started = time.monotonic()
        out = cli.run(
            "add",
            *urls,
            NEWSDESK_FETCH_TIMEOUT_SECONDS="1",
            NEWSDESK_FETCH_MAX_BYTES="1000",
            timeout=60,
            **env,
        )
        assert time.monotonic() - started < 30
        assert out.returncode == 1, out.stderr
        assert "Traceback" not in out.stderr
        lines = out.stderr.splitlines()
        assert len(lines) == len(cases), out.stderr
        for line, url, (_, reason) in zip(lines, urls, cases, strict=True):
            assert line.startswith(f"skipped {url}: ") and reason in line, line
        assert one_line(out.stdout).startswith(f"Added 0 articles, 0 chunks, {len(cases)} failed")
    assert index_state(cli.index) == before
    assert folder_state(cli.articles) == files
