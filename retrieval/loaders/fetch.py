"""Fetching one web page as an article, refusing what a bot fetching URLs for strangers must not.

Only http(s); no private/loopback/link-local targets unless allowed, checked on every redirect
hop and pinned by GuardedResolver; a total time limit; a size cap enforced while streaming.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from dataclasses import dataclass
from urllib.parse import unquote

import aiohttp
from yarl import URL

from retrieval.documents import Article
from retrieval.errors import BadArticleError, FetchError
from retrieval.loaders.decoding import binary_kind, decode_text, format_size
from retrieval.loaders.frontmatter import article_from_text_document
from retrieval.loaders.html import article_from_html
from retrieval.loaders.ids import humanize, id_from_url
from retrieval.loaders.netguard import (
    BlockedAddressError,
    GuardedResolver,
    parse_ip,
    refusal_reason,
    refused,
)
from retrieval.loaders.pdf import article_from_pdf, looks_like_pdf

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_SCHEMES = frozenset({"http", "https"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
PDF_TYPE = "application/pdf"
_PDF_TYPES = frozenset({PDF_TYPE, "application/x-pdf"})
# What servers label a file they do not know the type of: a PDF when it is named .pdf.
_UNTYPED = frozenset({"application/octet-stream", "binary/octet-stream"})
_CHUNK_BYTES = 64 * 1024
_HEADERS = {
    "User-Agent": "newsdesk/0.1 (article fetcher)",
    "Accept": (
        "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.9,text/markdown;q=0.9"
    ),
}


@dataclass(frozen=True)
class _Page:
    url: str
    content_type: str
    charset: str | None
    body: bytes


def check_url(raw: str | URL, *, allow_private: bool) -> URL:
    """The URL if it may be fetched; FetchError saying why not. Hostnames are checked on connect."""
    try:
        url = raw if isinstance(raw, URL) else URL(raw.strip())
    except (ValueError, TypeError):
        raise FetchError(f"{str(raw)[:100]} is not a valid URL") from None
    scheme = (url.scheme or "").lower()
    if scheme not in _SCHEMES:
        shown = f"{scheme}:" if scheme else "a URL without http:// or https://"
        raise FetchError(f"only http and https links can be fetched, not {shown}")
    host = url.raw_host
    if not host:
        raise FetchError(f"{str(url)[:100]} has no host name")
    if url.raw_user is not None or url.raw_password is not None:
        raise FetchError("links with a user name or password are not fetched")
    ip = parse_ip(host)
    if ip is not None and not allow_private:
        reason = refusal_reason(ip)
        if reason is not None:
            raise FetchError(refused(f"{host} is {reason}"))
    return url


def _blocked_cause(exc: BaseException) -> BlockedAddressError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, BlockedAddressError):
            return current
        seen.add(id(current))
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BlockedAddressError):
            return os_error
        current = current.__cause__ or current.__context__
    return None


async def read_capped(
    response: aiohttp.ClientResponse, max_bytes: int, *, what: str = "page"
) -> bytes:
    """The body, refused as soon as it passes ``max_bytes`` (declared or streamed)."""
    too_large = FetchError(f"{what} is larger than {format_size(max_bytes)}")
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _content_type(response: aiohttp.ClientResponse, url: URL) -> str:
    """The response's type; any PDF type is application/pdf, and so is an untyped file
    named .pdf (by its path or Content-Disposition)."""
    content_type = response.content_type.lower()
    if content_type in _PDF_TYPES:
        return PDF_TYPE
    if content_type in _UNTYPED:
        try:
            attached = response.content_disposition
        except ValueError:
            attached = None
        names = [url.path, (attached.filename or "") if attached is not None else ""]
        if any(n.lower().endswith(".pdf") for n in names):
            return PDF_TYPE
    return content_type


async def _get_page(
    session: aiohttp.ClientSession, url: URL, *, max_bytes: int, allow_private: bool
) -> _Page:
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        host = current.raw_host
        async with session.get(current, allow_redirects=False) as response:
            if response.status in _REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"{host} answered a redirect without a target")
                try:
                    target = current.join(URL(location))
                except (ValueError, TypeError):
                    raise FetchError(f"{host} redirected to an invalid URL") from None
                current = check_url(target, allow_private=allow_private)
                continue
            if response.status >= 400:
                raise FetchError(f"{host} answered HTTP {response.status}")
            if not 200 <= response.status < 300:
                raise FetchError(f"{host} answered HTTP {response.status} instead of a page")
            content_type = _content_type(response, current)
            if content_type not in _HTML_TYPES | _TEXT_TYPES | {PDF_TYPE}:
                raise FetchError(f"unsupported content type {content_type}")
            body = await read_capped(response, max_bytes)
            return _Page(str(current), content_type, response.charset, body)
    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")


def _decode_with_charset(page: _Page, name: str, max_bytes: int) -> str:
    charset = (page.charset or "utf-8").lower()
    try:
        is_utf8 = codecs.lookup(charset).name == "utf-8"
    except LookupError:
        is_utf8 = True  # an unknown charset: UTF-8 is the best guess, and is checked
    if is_utf8:
        return decode_text(page.body, name, max_bytes=max_bytes)
    try:
        text = page.body.decode(charset)
    except UnicodeDecodeError:
        raise FetchError(f"{name} sent text that is not valid {charset}") from None
    if not text.strip():
        raise FetchError(f"{name} sent an empty page")
    return text.replace("\r\n", "\n")


def _html_source(page: _Page) -> bytes | str:
    """Text decoded with the declared charset, else the bytes for trafilatura to sniff."""
    if page.charset:
        try:
            return page.body.decode(page.charset, errors="replace")
        except LookupError:
            log.info("unknown charset %r from %s; letting the parser guess", page.charset, page.url)
    return page.body


def _fallback_title(url: URL) -> str:
    last = unquote(url.path.rstrip("/").rsplit("/", 1)[-1])
    stem = last.rsplit(".", 1)[0] if "." in last else last
    return humanize(stem) if stem else (url.host or "Untitled")


def _pdf_to_article(page: _Page, url: URL) -> Article:
    last = unquote(url.path.rstrip("/").rsplit("/", 1)[-1])
    name = last if last.lower().endswith(".pdf") else f"the PDF from {url.host or page.url}"
    if not looks_like_pdf(page.body):
        kind = binary_kind(page.body) or "a page of text"
        raise FetchError(f"{url.host or page.url} sent {kind}, not the PDF it announced")
    try:
        return article_from_pdf(
            page.body,
            name=name,
            article_id=id_from_url(page.url),
            fallback_title=_fallback_title(url),
            url=page.url,
        )
    except BadArticleError as exc:
        raise FetchError(str(exc)) from None


def _page_to_article(page: _Page, *, max_bytes: int) -> Article:
    """Turn a fetched page into an article (CPU-bound for HTML and PDF: run it in a thread)."""
    url = URL(page.url)
    name = url.host or page.url
    article_id = id_from_url(page.url)
    if not page.body.strip():
        raise FetchError(f"{name} sent an empty page")
    if page.content_type == PDF_TYPE:
        return _pdf_to_article(page, url)
    kind = binary_kind(page.body)
    if kind is not None:
        raise FetchError(f"{name} sent {kind}, not a page of text")
    try:
        if page.content_type in _HTML_TYPES:
            return article_from_html(
                _html_source(page),
                name=name,
                article_id=article_id,
                fallback_title=_fallback_title(url),
                url=page.url,
            )
        text = _decode_with_charset(page, name, max_bytes)
        return article_from_text_document(
            text,
            name=name,
            article_id=article_id,
            path=None,
            markdown=page.content_type != "text/plain",
            fallback_title=_fallback_title(url),
            url=page.url,
        )
    except BadArticleError as exc:
        raise FetchError(str(exc)) from None


def fetch_failure(exc: BaseException, *, host: str | None, timeout: float, url: str) -> FetchError:
    """The one line a failed fetch is reported with (a refusal keeps its own reason)."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, TimeoutError):
        return FetchError(f"{host} did not answer within {timeout:g} s")
    blocked = _blocked_cause(exc)
    if blocked is not None:
        return FetchError(str(blocked))
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(f"could not find the server {exc.host}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return FetchError(f"{exc.host} has an invalid TLS certificate")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FetchError(f"could not connect to {exc.host}")
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchError("the link (or a redirect) is not a valid URL")
    log.info("fetching %s failed: %r", url, exc)
    return FetchError(f"fetching from {host} failed ({type(exc).__name__})")


# `timeout` (settings.fetch_timeout_seconds) bounds DNS, every redirect hop and the body as a
# whole; callers need not wrap the call in asyncio.timeout themselves.
async def fetch_article(
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109
    max_bytes: int,
    allow_private: bool,
) -> Article:
    """Fetch ``url`` and extract its article; FetchError with a short reason on any refusal."""
    checked = check_url(url, allow_private=allow_private)
    host = checked.raw_host
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(allow_private=allow_private), use_dns_cache=False, force_close=True
    )
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(
                connector=connector, headers=_HEADERS, trust_env=False
            ) as session,
        ):
            page = await _get_page(
                session, checked, max_bytes=max_bytes, allow_private=allow_private
            )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise fetch_failure(exc, host=host, timeout=timeout, url=url) from None
    finally:
        await connector.close()
    return await asyncio.to_thread(_page_to_article, page, max_bytes=max_bytes)


def fetch_article_sync(url: str, *, timeout: float, max_bytes: int, allow_private: bool) -> Article:
    """fetch_article for synchronous callers such as the CLI (not from inside a running loop)."""
    return asyncio.run(
        fetch_article(url, timeout=timeout, max_bytes=max_bytes, allow_private=allow_private)
    )
