"""Stable article ids and readable fallback titles, derived from paths and URLs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import urlsplit

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_SEPARATORS = re.compile(r"[\s_\-]+")
# Long enough to stay readable, short enough for a file name and a Discord line.
MAX_SLUG_CHARS = 80


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by '-'; '' when nothing survives (e.g. a CJK-only name)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_SLUG.sub("-", ascii_text.lower()).strip("-")


def _bounded(slug: str, source: str) -> str:
    """Cut an over-long slug and add a hash of its source so that cut ids stay distinct."""
    if len(slug) <= MAX_SLUG_CHARS:
        return slug
    return slug[: MAX_SLUG_CHARS - 9].rstrip("-") + "-" + _short_hash(source)


def id_from_relative_path(relative: PurePosixPath) -> str:
    """'World/Kerry Talks.txt' -> 'world/kerry-talks': survives re-indexing, keeps subfolders."""
    parts = [*relative.parent.parts, relative.stem] if relative.parent.parts else [relative.stem]
    slugs = [_bounded(slugify(part), part) or "x" + _short_hash(part) for part in parts]
    return "/".join(slugs)


def id_from_title(title: str) -> str:
    """For pasted text: the title's slug, or a hash when the title has no ASCII letters."""
    return _bounded(slugify(title), title) or "pasted-" + _short_hash(title)


def id_from_url(url: str) -> str:
    """'https://www.example.com/news/a-story?id=3' -> 'example-com-news-a-story-<hash>'."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    slug = slugify(f"{host} {parts.path}")
    if parts.query:
        # Pages told apart only by their query would collide otherwise.
        slug = f"{slug}-{_short_hash(parts.query)}"
    return _bounded(slug, url) or "url-" + _short_hash(url)


def humanize(name: str) -> str:
    """'kerry-seeks_progress' -> 'Kerry seeks progress': a title of last resort."""
    words = _SEPARATORS.sub(" ", name).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"
