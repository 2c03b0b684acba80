"""A feed server on 127.0.0.1 for tests: routes set per test, requests counted, conditional
requests answered as a real server would (ETag / Last-Modified -> 304).

Threaded (http.server), so the CLI in a subprocess, sync code and the event loop can all use it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answered 304 to If-None-Match with it
    last_modified: str | None = None
    trickle: float | None = None  # seconds between single bytes (a server that trickles)
    silent: bool = False  # never answers
    gzip: bool = False


RouteFor = Callable[[str], Route]  # a route computed per request (from the request's path)


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | RouteFor] = {}
        self.hits: dict[str, int] = {}
        self.conditional_hits: dict[str, int] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, route: Route | RouteFor) -> str:
        self.routes[path] = route
        return self.url(path)

    def page(self, path: str, title: str, paragraphs: list[str]) -> str:
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        html = (
            f"<html><head><title>{escape(title)}</title></head><body><article>"
            f"<h1>{escape(title)}</h1>{body}</article></body></html>"
        )
        return self.set(path, Route(html.encode(), content_type="text/html; charset=utf-8"))


def rss(title: str, items: list[dict[str, str]], *, extra: str = "") -> bytes:
    """An RSS 2.0 document; each item's keys become elements (title, link, guid, pubDate...)."""
    parts = ["<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"]
    parts.append(f"<title>{escape(title)}</title><link>http://example.com/</link>{extra}")
    for item in items:
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items())
        parts.append(f"<item>{inner}</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)


def _handler_class(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path
            with server.lock:
                server.hits[path] = server.hits.get(path, 0) + 1
            found = server.routes.get(path) or server.routes.get(path.partition("?")[0])
            if found is None:
                self._send(Route(b"not found", status=404, content_type="text/plain"))
                return
            route = found if isinstance(found, Route) else found(path)
            if route.silent:
                server.stop.wait(timeout=30)
                return
            matches_tag = route.etag is not None and self.headers.get("If-None-Match") == route.etag
            matches_date = (
                route.last_modified is not None
                and self.headers.get("If-Modified-Since") == route.last_modified
            )
            if matches_tag or matches_date:
                with server.lock:
                    server.conditional_hits[path] = server.conditional_hits.get(path, 0) + 1
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(route)

        def _send(self, route: Route) -> None:
            body = gzip.compress(route.body) if route.gzip else route.body
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(body)))
            if route.gzip:
                self.send_header("Content-Encoding", "gzip")
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            for key, value in route.headers.items():
                self.send_header(key, value)
            self.end_headers()
            try:
                if route.trickle is None:
                    self.wfile.write(body)
                    return
                for byte in body:
                    if server.stop.wait(route.trickle):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                return  # the client hung up (a cap or a timeout): expected

        def log_message(self, format: str, *args: object) -> None:
            return None

    return _Handler


@contextmanager
def serving() -> Iterator[FeedServer]:
    feeds = FeedServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(feeds))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    feeds.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield feeds
    finally:
        feeds.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
