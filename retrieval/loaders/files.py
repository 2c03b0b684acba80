"""Public entry points for the articles folder: list, load one file, load them all."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from retrieval.documents import Article
from retrieval.errors import BadArticleError, SourceNotFoundError
from retrieval.loaders.decoding import binary_kind, check_size, decode_text
from retrieval.loaders.frontmatter import article_from_text_document
from retrieval.loaders.html import article_from_html
from retrieval.loaders.ids import humanize, id_from_relative_path
from retrieval.loaders.jsonl import articles_from_jsonl
from retrieval.loaders.pdf import article_from_pdf, looks_like_pdf

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = (
    MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | PDF_SUFFIXES
)
# The folder's own documentation, not an article.
_ROOT_README = "readme.md"


@dataclass
class LoadReport:
    """What load_folder produced, and what it left out and why."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def _relative(path: Path, root: Path | None) -> PurePosixPath | None:
    if root is None:
        return None
    for candidate, base in ((path, root), (path.resolve(), root.resolve())):
        try:
            return PurePosixPath(candidate.relative_to(base).as_posix())
        except ValueError:
            continue
    return None


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    """At most max_bytes of a regular file; never blocks on a FIFO or reads a huge file whole."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise BadArticleError(f"{name} is not a regular file")
        check_size(info.st_size, name, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise BadArticleError(f"cannot read {name}: {exc.strerror or exc}") from None
    check_size(len(data), name, max_bytes)
    return data


def load_file(path: Path, *, root: Path | None = None, max_bytes: int) -> list[Article]:
    """The article(s) in one file (a .jsonl holds many). BadArticleError names the file."""
    relative = _relative(path, root)
    name = relative.as_posix() if relative is not None else path.name
    article_path = relative.as_posix() if relative is not None else path.as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BadArticleError(f"{name}: unsupported file type (use one of {supported})")
    article_id = id_from_relative_path(relative or PurePosixPath(path.name))
    fallback_title = humanize(path.stem)
    data = _read_bytes(path, name, max_bytes)

    if suffix in PDF_SUFFIXES:  # binary: never through the text checks
        if not data.strip():
            raise BadArticleError(f"{name} is empty")
        if not looks_like_pdf(data):
            raise BadArticleError(f"{name} looks like {binary_kind(data) or 'text'}, not a PDF")
        article = article_from_pdf(
            data, name=name, article_id=article_id, fallback_title=fallback_title, path=article_path
        )
        return [article]
    if suffix in HTML_SUFFIXES:
        if not data.strip():
            raise BadArticleError(f"{name} is empty")
        kind = binary_kind(data)
        if kind is not None:
            raise BadArticleError(f"{name} looks like {kind}, not HTML")
        article = article_from_html(
            data, name=name, article_id=article_id, fallback_title=fallback_title, path=article_path
        )
        return [article]
    text = decode_text(data, name, max_bytes=max_bytes)
    if suffix in JSONL_SUFFIXES:
        return articles_from_jsonl(text, name=name, path=article_path)
    article = article_from_text_document(
        text,
        name=name,
        article_id=article_id,
        path=article_path,
        markdown=suffix in MARKDOWN_SUFFIXES,
        fallback_title=fallback_title,
    )
    return [article]


def iter_article_files(root: Path) -> list[Path]:
    """Supported files under root, recursively, in a stable order; hidden ones and README.md out."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        here = Path(dirpath)
        for filename in filenames:
            if filename.startswith("."):
                continue
            if here == root and filename.lower() == _ROOT_README:
                continue
            if Path(filename).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(here / filename)
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def load_folder(root: Path, *, max_bytes: int) -> LoadReport:
    """Every article under root. Bad files are skipped and logged; duplicates are kept for
    the engine, which drops them by the one rule that also checks adds (retrieval.duplicates)."""
    if not root.is_dir():
        raise SourceNotFoundError(f"articles folder {root} does not exist or is not a folder")
    report = LoadReport()
    owner_of_id: dict[str, str] = {}
    for path in iter_article_files(root):
        relative = path.relative_to(root).as_posix()
        try:
            articles = load_file(path, root=root, max_bytes=max_bytes)
        except BadArticleError as exc:
            log.warning("skipped %s: %s", relative, exc)
            report.skipped.append((relative, str(exc)))
            continue
        except Exception:  # a loader bug must not stop the other files from loading
            log.exception("skipped %s: unexpected error while loading it", relative)
            report.skipped.append((relative, "unexpected error while loading (see log)"))
            continue
        for article in articles:
            owner = owner_of_id.get(article.id)
            if owner is not None:
                reason = f"article id {article.id!r} is already used by {owner}; rename one"
                log.warning("skipped %s: %s", relative, reason)
                report.skipped.append((relative, reason))
                continue
            owner_of_id[article.id] = relative
            report.articles.append(article)
    return report
