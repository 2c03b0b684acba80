"""Fetching pages: against a local aiohttp server only (no network), every case time-bounded."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiohttp import web

from retrieval.documents import Article
from retrieval.errors import FetchError
from retrieval.loaders import fetch as fetch_module
from retrieval.loaders import fetch_article, fetch_article_sync
from retrieval.loaders.netguard import BlockedAddressError, GuardedResolver, refusal_reason
from tests.loaders.pdfs import PARAGRAPHS, STORY, make_pdf

pytestmark = pytest.mark.timeout(30)

HTML = """<html><head><title>Local story | Site</title>
<meta property="og:title" content="Local story"></head><body><article><h1>Local story</h1>
<p>The council met on Monday and agreed to rebuild the old bridge over the river before winter,
after months of debate about its cost.</p>
<p>Work is expected to start in June and to take about four months, the mayor said.</p>
</article></body></html>"""
TIMEOUT = 5.0
MAX_BYTES = 200_000


class _Server:
    def __init__(self, base: str, stop: asyncio.Event, accepts: list[str]) -> None:
        self.base = base
        self.stop = stop
        self.accepts = accepts  # the Accept header of each PDF request

    def url(self, path: str) -> str:
        return self.base + path


def _app(stop: asyncio.Event, accepts: list[str]) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=HTML, content_type="text/html", charset="utf-8")

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="A plain note.\n\nSecond paragraph.\n", content_type="text/plain")

    async def markdown(request: web.Request) -> web.Response:
        body = "---\ntitle: From markdown\nauthor: Kim\n---\n\nMarkdown body text.\n"
        return web.Response(text=body, content_type="text/markdown")

    async def redirect(request: web.Request) -> web.Response:
        hops = int(request.match_info["n"])
        target = "/page" if hops == 0 else f"/redirect/{hops - 1}"  # n + 1 redirects in all
        raise web.HTTPFound(target)

    async def redirect_to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="nope")

    async def png(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n", content_type="image/png")

    async def pdf(request: web.Request) -> web.Response:
        accepts.append(request.headers.get("Accept", ""))
        name = request.match_info["name"]
        if name == "login.pdf":  # a paywall's page under the PDF's type
            return web.Response(body=HTML.encode(), content_type="application/pdf")
        body = make_pdf(STORY if name != "scan.pdf" else ["", ""])
        return web.Response(body=body, content_type="application/pdf")

    async def untyped(request: web.Request) -> web.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if "attach" in request.query:
            headers["Content-Disposition"] = 'attachment; filename="Bridge vote.pdf"'
        return web.Response(body=make_pdf(STORY), headers=headers)

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"x" * 8192 + b"</p>"
        while not stop.is_set():
            try:
                await response.write(chunk)
            except (ConnectionError, RuntimeError):
                break  # the client hung up: exactly what the size cap should make it do
        return response

    async def declared_big(request: web.Request) -> web.Response:
        return web.Response(body=b"<p>x</p>" * 50_000, content_type="text/html")

    async def silent(request: web.Request) -> web.Response:
        await stop.wait()
        return web.Response(text="too late")

    async def latin1(request: web.Request) -> web.Response:
        body = "Café crème in Zürich, déjà vu.".encode("latin-1")
        return web.Response(body=body, headers={"Content-Type": "text/plain; charset=iso-8859-1"})

    async def disguised_zip(request: web.Request) -> web.Response:
        return web.Response(body=b"PK\x03\x04" + b"\x00" * 64, content_type="text/html")

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/plain", plain)
    app.router.add_get("/md", markdown)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_get("/redirect-to", redirect_to)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/png", png)
    app.router.add_get("/papers/{name}", pdf)
    app.router.add_get("/files/{name}", untyped)
    app.router.add_get("/endless", endless)
    app.router.add_get("/big", declared_big)
    app.router.add_get("/silent", silent)
    app.router.add_get("/latin1", latin1)
    app.router.add_get("/zip", disguised_zip)
    return app


@pytest.fixture
async def server() -> AsyncIterator[_Server]:
    stop = asyncio.Event()
    accepts: list[str] = []
    runner = web.AppRunner(_app(stop, accepts), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield _Server(f"http://{host}:{port}", stop, accepts)
    finally:
        stop.set()
        await runner.cleanup()


async def fetch(url: str, *, allow_private: bool = True, seconds: float = TIMEOUT) -> Article:
    return await fetch_article(
        url, timeout=seconds, max_bytes=MAX_BYTES, allow_private=allow_private
    )


async def test_html_page_becomes_an_article(server: _Server) -> None:
    article = await fetch_article(
        server.url("/page"), timeout=TIMEOUT, max_bytes=MAX_BYTES, allow_private=True
    )
    assert article.title == "Local story"
    assert article.url == server.url("/page")
    assert article.id == "127-0-0-1-page"
    assert article.text.startswith("The council met on Monday")
    assert article.path is None


async def test_text_and_markdown_pages(server: _Server) -> None:
    plain = await fetch_article(
        server.url("/plain"), timeout=TIMEOUT, max_bytes=MAX_BYTES, allow_private=True
    )
    assert (plain.title, plain.text) == ("Plain", "A plain note.\n\nSecond paragraph.")
    md = await fetch_article(
        server.url("/md"), timeout=TIMEOUT, max_bytes=MAX_BYTES, allow_private=True
    )
    assert (md.title, md.author, md.text) == ("From markdown", "Kim", "Markdown body text.")


async def test_declared_charset_is_honoured(server: _Server) -> None:
    article = await fetch(server.url("/latin1"))
    assert article.text == "Café crème in Zürich, déjà vu."


async def test_binary_body_under_a_text_content_type_is_refused(server: _Server) -> None:
    with pytest.raises(FetchError, match="sent a zip archive"):
        await fetch(server.url("/zip"))


async def test_redirects_are_followed_up_to_five(server: _Server) -> None:
    article = await fetch_article(
        server.url("/redirect/4"), timeout=TIMEOUT, max_bytes=MAX_BYTES, allow_private=True
    )
    assert article.url == server.url("/page")
    with pytest.raises(FetchError, match="too many redirects"):
        await fetch(server.url("/redirect/5"))


@pytest.mark.parametrize("code", [404, 500, 403])
async def test_http_errors(server: _Server, code: int) -> None:
    with pytest.raises(FetchError, match=f"answered HTTP {code}"):
        await fetch(server.url(f"/status/{code}"))


async def test_wrong_content_type(server: _Server) -> None:
    with pytest.raises(FetchError, match="unsupported content type image/png"):
        await fetch(server.url("/png"))
    with pytest.raises(FetchError, match="unsupported content type application/octet-stream"):
        await fetch(server.url("/files/blob"))


async def test_a_pdf_becomes_an_article(server: _Server) -> None:
    article = await fetch(server.url("/papers/bridge-vote.pdf"))
    assert (article.title, article.url) == (
        "Council backs new bridge", server.url("/papers/bridge-vote.pdf")
    )  # fmt: skip
    assert article.id == "127-0-0-1-papers-bridge-vote-pdf"
    assert article.text.split("\n\n") == PARAGRAPHS
    assert server.accepts and "application/pdf" in server.accepts[0]


async def test_an_untyped_file_named_pdf_is_a_pdf(server: _Server) -> None:
    by_path = await fetch(server.url("/files/bridge.pdf"))
    by_attachment = await fetch(server.url("/files/download?attach=1"))
    assert by_path.text == by_attachment.text == "\n\n".join(PARAGRAPHS)


async def test_a_page_sent_as_a_pdf_is_refused(server: _Server) -> None:
    with pytest.raises(FetchError, match="sent a page of text, not the PDF it announced"):
        await fetch(server.url("/papers/login.pdf"))


async def test_a_scanned_pdf_is_refused_with_its_name(server: _Server) -> None:
    with pytest.raises(FetchError, match=r"^scan\.pdf has no text layer \(a scanned PDF\?\)"):
        await fetch(server.url("/papers/scan.pdf"))


async def test_endless_body_is_cut_at_the_size_cap(server: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="page is larger than 200 kB"):
        await fetch(server.url("/endless"))
    assert time.monotonic() - started < 5


async def test_declared_oversize_body_is_refused(server: _Server) -> None:
    with pytest.raises(FetchError, match="page is larger than"):
        await fetch(server.url("/big"))


async def test_server_that_never_answers_times_out(server: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 1 s"):
        await fetch(server.url("/silent"), seconds=1.0)
    assert time.monotonic() - started < 3


async def test_loopback_is_refused_without_allow_private(server: _Server) -> None:
    with pytest.raises(FetchError, match=r"127\.0\.0\.1 is a loopback address"):
        await fetch(server.url("/page"), allow_private=False)


async def test_hostname_resolving_to_loopback_is_refused(server: _Server) -> None:
    port = server.base.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="localhost resolves to a loopback address"):
        await fetch(f"http://localhost:{port}/page", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://192.168.1.1:8080/admin",
    ],
)
async def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="which is refused"):
        await fetch(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "not file:"),
        ("ftp://example.com/x", "not ftp:"),
        ("data:text/html,<p>hi</p>", "not data:"),
        ("javascript:alert(1)", "not javascript:"),
        ("example.com/page", "without http"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http:///nohost", "no host"),
    ],
)
async def test_non_http_and_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        await fetch(url, allow_private=False)


async def test_redirect_into_private_space_is_refused(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pretend the local server is public, then let it redirect somewhere private."""
    real = fetch_module.refusal_reason  # type: ignore[attr-defined]  # as fetch sees it

    def server_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(ip) == "127.0.0.1" else real(ip)

    monkeypatch.setattr(fetch_module, "refusal_reason", server_is_public)
    assert (await fetch(server.url("/page"), allow_private=False)) is not None
    port = server.base.rsplit(":", 1)[1]
    for target, message in [
        ("http://169.254.169.254/latest/meta-data/", "link-local address"),
        ("http://10.0.0.5/", "private address"),
        (f"http://localhost:{port}/page", "localhost resolves to a loopback address"),
        ("file:///etc/passwd", "not file:"),
    ]:
        with pytest.raises(FetchError, match=message):
            await fetch(server.url(f"/redirect-to?to={target}"), allow_private=False)


def test_refusal_reasons() -> None:
    def reason(text: str) -> str | None:
        return refusal_reason(ipaddress.ip_address(text))

    assert reason("8.8.8.8") is None
    assert reason("2606:4700:4700::1111") is None
    assert reason("127.0.0.1") == "a loopback address"
    assert reason("::1") == "a loopback address"
    assert reason("::ffff:10.0.0.1") == "a private address"
    assert reason("64:ff9b::7f00:1") == "a loopback address"  # NAT64 of 127.0.0.1
    assert reason("fe80::1") == "a link-local address"
    assert reason("0.0.0.0") == "an unspecified address"
    assert reason("ff02::1") == "a multicast address"
    assert reason("100.64.0.1") == "a non-public address"
    assert reason("240.0.0.1") is not None


async def test_resolver_refuses_a_host_with_any_private_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name answering both public and private addresses is refused outright."""
    loop = asyncio.get_running_loop()

    async def two_answers(host: str, port: int, **kwargs: object) -> list[object]:
        tcp = socket.SOCK_STREAM
        return [
            (socket.AF_INET, tcp, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, tcp, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", two_answers)
    with pytest.raises(BlockedAddressError, match="private address"):
        await GuardedResolver(allow_private=False).resolve("rebind.example", 80)
    pinned = await GuardedResolver(allow_private=True).resolve("rebind.example", 80)
    assert [r["host"] for r in pinned] == ["93.184.215.14", "10.0.0.7"]
    assert all(r["flags"] & socket.AI_NUMERICHOST for r in pinned)


@pytest.fixture
def threaded_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = HTML.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_sync_wrapper(threaded_server: str) -> None:
    article = fetch_article_sync(
        threaded_server + "/story", timeout=TIMEOUT, max_bytes=MAX_BYTES, allow_private=True
    )
    assert article.title == "Local story"
    with pytest.raises(FetchError, match="not ftp:"):
        fetch_article_sync("ftp://x/", timeout=TIMEOUT, max_bytes=MAX_BYTES, allow_private=True)
