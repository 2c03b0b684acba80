"""Public entry points for the articles folder: list, load one file, load them all."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from retrieval.documents import Article
from retrieval.errors import BadArticleError, SourceNotFoundError
from retrieval.loaders.decoding import binary_kind, check_size, decode_text
from retrieval.loaders.frontmatter import article_from_text_document
from retrieval.loaders.html import article_from_html
from retrieval.loaders.ids import humanize, id_from_relative_path
from retrieval.loaders.jsonl import JsonlFile, read_jsonl
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
    # Lines of bulk files left out: (path, line number, reason), and each such file's hash.
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)
    bad_line_files: dict[str, str] = field(default_factory=dict)  # path -> content hash


@dataclass
class LoadedFile:
    """One file's articles, and for a bulk file the lines it left out and its hash."""

    articles: list[Article]
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    digest: str = ""


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
    """The article(s) in one file (a .jsonl holds many). BadArticleError names the file; a
    bulk file's bad lines are logged with their numbers."""
    loaded = load_file_report(path, root=root, max_bytes=max_bytes)
    name = _name(path, root)
    for lineno, reason in loaded.bad_lines:
        log.warning("%s line %d skipped: %s", name, lineno, reason)
    return loaded.articles


def _name(path: Path, root: Path | None) -> str:
    relative = _relative(path, root)
    return relative.as_posix() if relative is not None else path.name


def load_file_report(path: Path, *, root: Path | None = None, max_bytes: int) -> LoadedFile:
    """`load_file`, with a bulk file's bad lines returned instead of logged. `max_bytes` is
    the limit of one article: a bulk file may be larger, each of its lines may not."""
    relative = _relative(path, root)
    name = relative.as_posix() if relative is not None else path.name
    article_path = relative.as_posix() if relative is not None else path.as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BadArticleError(f"{name}: unsupported file type (use one of {supported})")
    article_id = id_from_relative_path(relative or PurePosixPath(path.name))
    fallback_title = humanize(path.stem)
    if suffix in JSONL_SUFFIXES:
        loaded = _read_jsonl(path, name, article_path, max_bytes)
        return LoadedFile(loaded.articles, loaded.bad_lines, loaded.digest)
    data = _read_bytes(path, name, max_bytes)

    if suffix in PDF_SUFFIXES:  # binary: never through the text checks
        if not data.strip():
            raise BadArticleError(f"{name} is empty")
        if not looks_like_pdf(data):
            raise BadArticleError(f"{name} looks like {binary_kind(data) or 'text'}, not a PDF")
        article = article_from_pdf(
            data, name=name, article_id=article_id, fallback_title=fallback_title, path=article_path
        )
        return LoadedFile([article])
    if suffix in HTML_SUFFIXES:
        if not data.strip():
            raise BadArticleError(f"{name} is empty")
        kind = binary_kind(data)
        if kind is not None:
            raise BadArticleError(f"{name} looks like {kind}, not HTML")
        article = article_from_html(
            data, name=name, article_id=article_id, fallback_title=fallback_title, path=article_path
        )
        return LoadedFile([article])
    text = decode_text(data, name, max_bytes=max_bytes)
    article = article_from_text_document(
        text,
        name=name,
        article_id=article_id,
        path=article_path,
        markdown=suffix in MARKDOWN_SUFFIXES,
        fallback_title=fallback_title,
    )
    return LoadedFile([article])


def _read_jsonl(path: Path, name: str, article_path: str, max_bytes: int) -> JsonlFile:
    """A bulk file streamed line by line (never read whole), after the checks that refuse a
    file as a whole: not a regular file, empty, binary, UTF-16."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise BadArticleError(f"{name} is not a regular file")
        with path.open("rb") as handle:
            head = handle.read(65536)
            if not head:
                raise BadArticleError(f"{name} is empty")
            if not head.strip() and len(head) < 65536:
                raise BadArticleError(f"{name} has no text, only whitespace")
            kind = binary_kind(head)
            if kind is not None:
                raise BadArticleError(f"{name} looks like {kind}, not text")
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise BadArticleError(f"{name} is UTF-16 or UTF-32 text; save it as UTF-8")
            handle.seek(0)
            return read_jsonl(handle, name=name, path=article_path, max_bytes=max_bytes)
    except OSError as exc:
        raise BadArticleError(f"cannot read {name}: {exc.strerror or exc}") from None


def iter_article_files(root: Path, skipped: list[tuple[str, str]] | None = None) -> list[Path]:
    """Supported files under root, recursively, in a stable order; hidden ones and README.md out.

    Linked folders are followed. One that leads back into a folder already being read (a
    loop) or read before (a second way to the same folder) is left out with a warning, and
    added to `skipped` as (path, reason)."""
    found: list[Path] = []
    seen: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        where = here.relative_to(root).as_posix()
        try:
            info = here.stat()
        except OSError as exc:
            _skip_folder(skipped, where, f"cannot read it: {exc.strerror or exc}")
            dirnames[:] = []
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            first = seen[key]
            dirnames[:] = []
            loops = first == "." or Path(where).is_relative_to(first)
            target = "the articles folder" if first == "." else f"{first}/"
            reason = (
                f"a link that loops back to {target}"
                if loops
                else f"the same folder as {first}/, read already"
            )
            _skip_folder(skipped, where, reason)
            continue
        seen[key] = where
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in filenames:
            if filename.startswith("."):
                continue
            if here == root and filename.lower() == _ROOT_README:
                continue
            if Path(filename).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(here / filename)
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _skip_folder(skipped: list[tuple[str, str]] | None, where: str, reason: str) -> None:
    log.warning("skipped folder %s/: %s", where, reason)
    if skipped is not None:
        skipped.append((f"{where}/", reason))


def load_folder(
    root: Path, *, max_bytes: int, reported: Mapping[str, str] | None = None
) -> LoadReport:
    """Every article under root. Bad files are skipped and logged; duplicates are kept for
    the engine, which drops them by the one rule that also checks adds (retrieval.duplicates).

    A bulk file's bad lines are in the report; they are logged as warnings unless
    `reported` maps the file to the same content hash (they were reported before)."""
    if not root.is_dir():
        raise SourceNotFoundError(f"articles folder {root} does not exist or is not a folder")
    report = LoadReport()
    reported = reported or {}
    owner_of_id: dict[str, str] = {}
    for path in iter_article_files(root, report.skipped):
        relative = path.relative_to(root).as_posix()
        try:
            loaded = load_file_report(path, root=root, max_bytes=max_bytes)
        except BadArticleError as exc:
            log.warning("skipped %s: %s", relative, exc)
            report.skipped.append((relative, str(exc)))
            continue
        except Exception:  # a loader bug must not stop the other files from loading
            log.exception("skipped %s: unexpected error while loading it", relative)
            report.skipped.append((relative, "unexpected error while loading (see log)"))
            continue
        if loaded.bad_lines:
            known = reported.get(relative) == loaded.digest
            for lineno, reason in loaded.bad_lines:
                log.log(
                    logging.DEBUG if known else logging.WARNING,
                    "%s line %d skipped: %s",
                    relative,
                    lineno,
                    reason,
                )
                report.bad_lines.append((relative, lineno, reason))
            report.bad_line_files[relative] = loaded.digest
        for article in loaded.articles:
            owner = owner_of_id.get(article.id)
            if owner is not None:
                reason = f"article id {article.id!r} is already used by {owner}; rename one"
                log.warning("skipped %s: %s", relative, reason)
                report.skipped.append((relative, reason))
                continue
            owner_of_id[article.id] = relative
            report.articles.append(article)
    return report
