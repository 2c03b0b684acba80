"""Finding the same article twice: same URL (normalised) or same text (normalised)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from retrieval.documents import Article

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """Lowercase scheme and host, no fragment, no default port, no trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # a malformed port: compare the URL as written
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username is not None:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def dedupe(articles: Iterable[Article]) -> tuple[list[Article], list[tuple[str, str]]]:
    """Keep the first of each same-URL or same-text group; (dropped id, kept id) for the rest."""
    kept: list[Article] = []
    duplicates: list[tuple[str, str]] = []
    by_url: dict[str, str] = {}
    by_text: dict[str, str] = {}
    for article in articles:
        url_key = normalize_url(article.url) if article.url else None
        text_key = article.dedup_key
        first = (by_url.get(url_key) if url_key else None) or by_text.get(text_key)
        if first is not None:
            duplicates.append((article.id, first))
            continue
        kept.append(article)
        if url_key:
            by_url[url_key] = article.id
        by_text[text_key] = article.id
    return kept, duplicates
