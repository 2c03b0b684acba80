"""The articles folder is the source of truth: adding writes a file there, removing deletes it.

So `newsdesk index rebuild` (or `--full`) always reproduces what users added, from files.
"""

from __future__ import annotations

import json
import logging
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.documents import Article
from retrieval.engine import Engine
from retrieval.errors import (
    ArticleExistsError,
    ArticleNotFoundError,
    BadArticleError,
    NewsdeskError,
    SourceNotFoundError,
    write_error,
)
from retrieval.files import copy_file_atomic, write_text_atomic
from retrieval.index.writer import SyncReport
from retrieval.loaders import (
    LoadReport,
    fetch_article_sync,
    iter_article_files,
    load_file,
    load_folder,
    write_article_file,
)
from retrieval.loaders.decoding import check_size
from retrieval.loaders.fetch import check_url
from retrieval.loaders.saving import article_file
from retrieval.progress import Progress
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)
WEB_FOLDER = "web"
IMPORT_FOLDER = "imported"


@dataclass
class IngestOutcome:
    report: SyncReport = field(default_factory=SyncReport)
    messages: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)  # what was handed to the index

    def summary(self) -> str:
        added = len(self.report.added) + len(self.report.changed)
        parts = [f"Added {added} article{'s' if added != 1 else ''}"]
        parts.append(f"{self.report.chunks_written} chunks")
        if self.report.unchanged:
            parts.append(f"{self.report.unchanged} already indexed")
        if self.report.duplicates:
            parts.append(f"{len(self.report.duplicates)} duplicates skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts) + f" ({self.report.seconds:.1f}s)."


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def looks_like_url(source: str) -> bool:
    """A link of any scheme (which only http(s) passes), as opposed to a file name."""
    return _SCHEME.match(source) is not None


_SCHEME = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://|(?:data|javascript|vbscript|mailto|about|blob):",
    re.ASCII | re.IGNORECASE,
)


def add_sources(
    engine: Engine,
    settings: RetrievalSettings,
    sources: Sequence[str],
    *,
    progress: Progress | None = None,
) -> IngestOutcome:
    """Files, folders, JSONL files or http(s) URLs -> copied into the folder, then indexed."""
    outcome = IngestOutcome()
    folder = settings.articles_dir
    folder.mkdir(parents=True, exist_ok=True)
    created: dict[str, Path] = {}
    for source in sources:
        try:
            for article, path in _collect(source, settings):
                outcome.articles.append(article)
                if path is not None:
                    created[article.id] = path
        except NewsdeskError as exc:
            outcome.failed.append(source)
            outcome.messages.append(f"skipped {source}: {exc}")
    if outcome.articles:
        try:
            outcome.report = engine.add(outcome.articles, progress=progress)
        except NewsdeskError:
            # Not indexed (a full disk, a busy or damaged index): take the copies back out, so
            # the articles folder does not hold what the user was told failed.
            for path in set(created.values()):
                path.unlink(missing_ok=True)
            raise
    for dropped, kept in outcome.report.duplicates:
        outcome.messages.append(f"{dropped} is already indexed as {kept}; not added again")
        path = created.get(dropped)
        if path is not None:
            path.unlink(missing_ok=True)  # the copy we just made is not needed
    return outcome


def add_article(engine: Engine, settings: RetrievalSettings, article: Article) -> IngestOutcome:
    """One article made elsewhere (pasted text, a fetched page): saved as Markdown, indexed.

    The index's add is the one duplicate check: a copy of a stored article is reported as
    (its id, the stored one's) and the file just written for it is taken back out."""
    outcome = IngestOutcome()
    saved, created = _save_markdown(article, settings, subfolder=WEB_FOLDER if article.url else "")
    written = settings.articles_dir / str(saved.path) if created else None
    outcome.articles.append(saved)
    try:
        outcome.report = engine.add([saved])
    except NewsdeskError:
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    for _, kept in outcome.report.duplicates:
        outcome.messages.append(f"already indexed as {kept}")
        if written is not None:
            written.unlink(missing_ok=True)
    return outcome


def remove_article(engine: Engine, settings: RetrievalSettings, article_id: str) -> Article:
    """Drop it from the index and from the articles folder, so a rebuild doesn't bring it back."""
    article = engine.get_article(article_id)
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r}")
    if article.path:
        _remove_from_folder(settings.articles_dir, article)
    try:
        return engine.remove(article_id)
    except ArticleNotFoundError:
        if engine.get_article(article_id) is not None:
            raise
        return article  # a reindex that read the folder after the file went removed it first


def sync_with_folder(
    engine: Engine,
    settings: RetrievalSettings,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Make the index match the articles folder (`full`: re-encode it all into a new database);
    a folder that does not exist is an empty collection.

    The folder is read holding the index's write lock. Adds write their file before they
    take that lock, so an article added meanwhile is either read here or indexed after this
    sync: never dropped as missing. Bad files and duplicates are in the report.
    """
    loaded = LoadReport()

    def read_folder() -> list[Article]:
        nonlocal loaded
        if not settings.articles_dir.is_dir():
            return []  # not made yet (a guild's folder before its first /add): nothing in it
        loaded = load_folder(settings.articles_dir, max_bytes=settings.max_article_bytes)
        return loaded.articles

    if full:
        report = engine.rebuild_full(read_folder, progress=progress)
    else:
        report = engine.sync(read_folder, remove_missing=True, progress=progress)
    report.skipped.extend(loaded.skipped)
    return report


def _collect(source: str, settings: RetrievalSettings) -> list[tuple[Article, Path | None]]:
    folder = settings.articles_dir
    if is_url(source):
        article = fetch_article_sync(
            source,
            timeout=settings.fetch_timeout_seconds,
            max_bytes=settings.fetch_max_bytes,
            allow_private=settings.allow_private_urls,
        )
        saved, created = _save_markdown(article, settings, subfolder=WEB_FOLDER)
        return [(saved, folder / str(saved.path) if created else None)]
    path = Path(source)
    if not path.exists():
        if looks_like_url(source):  # file:, ftp:, data:, javascript:...: say why not
            check_url(source, allow_private=settings.allow_private_urls)
        raise SourceNotFoundError(f"{source} does not exist (give a file, folder or http(s) URL)")
    files = iter_article_files(path) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise SourceNotFoundError(f"no .md, .txt, .html or .jsonl files in {source}")
    collected: list[tuple[Article, Path | None]] = []
    for file in files:
        target, copied = _place_in_folder(file, folder, settings.max_article_bytes)
        try:
            articles = load_file(target, root=folder, max_bytes=settings.max_article_bytes)
        except NewsdeskError:
            if copied:
                target.unlink(missing_ok=True)
            raise
        collected.extend((a, target if copied else None) for a in articles)
    return collected


def _place_in_folder(file: Path, folder: Path, max_bytes: int) -> tuple[Path, bool]:
    """The file's place inside the articles folder; copies it there if it is outside."""
    resolved, root = file.resolve(), folder.resolve()
    if resolved.is_relative_to(root):
        return resolved, False
    # Checked before copying: a huge file or a pipe must not reach the folder (or hang us).
    try:
        info = file.stat()
    except OSError as exc:
        raise BadArticleError(f"cannot read {file.name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadArticleError(f"{file.name} is not a regular file")
    check_size(info.st_size, file.name, max_bytes)
    sub = IMPORT_FOLDER if file.suffix.lower() == ".jsonl" else ""
    target = root / sub / file.name
    if target.exists():
        if target.read_bytes() == file.read_bytes():
            return target, False
        raise ArticleExistsError(
            f"{target} already exists with other content; rename {file.name} and add it again"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_file_atomic(file, target)
    except OSError as exc:
        raise write_error(exc, f"{target}") from exc
    return target, True


def _save_markdown(
    article: Article, settings: RetrievalSettings, *, subfolder: str
) -> tuple[Article, bool]:
    """The article as saved in the folder, and whether this wrote its file (an identical one
    may be there already: it is not ours to take back out)."""
    target_dir = settings.articles_dir / subfolder if subfolder else settings.articles_dir
    existed = article_file(target_dir, article).exists()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        path = write_article_file(target_dir, article)
    except OSError as exc:
        raise write_error(exc, f"{article.id}.md in {target_dir}") from exc
    [saved] = load_file(path, root=settings.articles_dir, max_bytes=settings.max_article_bytes)
    return saved, not existed


def _remove_from_folder(folder: Path, article: Article) -> None:
    path = folder / str(article.path)
    if not path.exists():
        return
    if path.suffix.lower() != ".jsonl":
        path.unlink()
        return
    # A bulk file holds other articles too: rewrite it without this one's line.
    kept_lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row_id = str(json.loads(line).get("id", ""))
        except ValueError:
            row_id = ""
        if row_id != article.id.rsplit("/", 1)[-1] and row_id != article.id:
            kept_lines.append(line)
    try:
        write_text_atomic(path, "\n".join(kept_lines) + ("\n" if kept_lines else ""))
    except OSError as exc:
        raise write_error(exc, str(path)) from exc
