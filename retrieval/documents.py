"""The records newsdesk stores: articles as loaded, and the chunks quoted from them."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from retrieval.dates import iso


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Article:
    """One article: the body text is kept exactly as quoted to users."""

    id: str
    title: str
    text: str
    url: str | None = None
    published: dt.datetime | None = None  # timezone-aware; None when unknown or not a date
    updated: dt.datetime | None = None  # set when the story changed after it was published
    source: str | None = None
    author: str | None = None
    path: str | None = (
        None  # where it was loaded from, relative to the articles folder if inside it
    )
    extra: dict[str, str] = field(default_factory=dict)  # other front-matter keys (e.g. added_by)

    @property
    def last_changed(self) -> dt.datetime | None:
        """When the story was last written: updated, else published."""
        return self.updated or self.published

    @cached_property  # searches ask for it per passage; the fields never change
    def content_hash(self) -> str:
        """Changes whenever anything that is indexed or shown changes."""
        meta = "\x1f".join(
            [
                self.title,
                self.url or "",
                iso(self.published) or "",
                self.source or "",
                self.author or "",
                iso(self.updated) or "",
            ]
        )
        return content_hash(meta + "\x1e" + self.text)


@dataclass(frozen=True)
class Chunk:
    """A contiguous slice of an article: ``article.text[start:end] == text``."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
