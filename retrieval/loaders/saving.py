"""Writing an article as a markdown file with front matter that load_file reads back unchanged."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from retrieval.documents import Article
from retrieval.errors import ArticleExistsError, BadArticleError
from retrieval.files import write_bytes_atomic

# Ids become file names: slug segments (and JSONL-style ids such as '1973_oil_crisis').
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._,()-]*(/[A-Za-z0-9][A-Za-z0-9._,()-]*)*")
_CORE = ("title", "url", "published", "updated", "source", "author")


def render_markdown(article: Article) -> str:
    """Front matter (core fields, then extras) and the body verbatim."""
    meta: dict[str, str] = {"title": article.title}
    for key in _CORE[1:]:
        value = getattr(article, key)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        if value:
            meta[key] = value
    for key, value in article.extra.items():
        meta.setdefault(key, value)  # an extra can never shadow a core field
    front = yaml.safe_dump(
        meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000
    )
    return f"---\n{front}---\n\n{article.text}\n"


def _same_content(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def article_file(folder: Path, article: Article) -> Path:
    """Where write_article_file puts `article` in `folder`."""
    return folder / f"{article.id}.md"


def write_article_file(folder: Path, article: Article, *, overwrite: bool = False) -> Path:
    """Write ``<folder>/<article.id>.md`` atomically; a different existing file needs overwrite.

    Readers never see a half-written file (temp file + rename). Without overwrite the final
    link is made with os.link, which fails if another writer got there first.
    """
    if not _SAFE_ID.fullmatch(article.id) or ".." in article.id.split("/"):
        raise BadArticleError(f"article id {article.id!r} cannot be used as a file name")
    target = article_file(folder, article)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = render_markdown(article).encode("utf-8")
    if target.exists() and not overwrite:
        if _same_content(target, data):
            return target
        raise ArticleExistsError(f"{target.name} already exists with other content")
    try:
        write_bytes_atomic(target, data, overwrite=overwrite)
    except FileExistsError:
        raise ArticleExistsError(f"{target.name} already exists with other content") from None
    return target
