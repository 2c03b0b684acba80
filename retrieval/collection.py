"""The articles folder is the source of truth: adding writes a file there, removing deletes it.

So `newsdesk index rebuild` (or `--full`) always reproduces what users added, from files.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import logging
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypedDict

from retrieval.documents import Article
from retrieval.duplicates import duplicate_keys, is_update, other_pages
from retrieval.engine import Engine
from retrieval.errors import (
    ArticleExistsError,
    ArticleNotFoundError,
    BadArticleError,
    NewsdeskError,
    SourceNotFoundError,
    write_error,
)
from retrieval.files import copy_file_atomic, write_bytes_atomic, write_text_atomic
from retrieval.index import location
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
from retrieval.loaders.files import load_file_report
from retrieval.loaders.jsonl import lines_summary
from retrieval.loaders.saving import article_file, render_markdown
from retrieval.progress import Progress
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)
WEB_FOLDER = "web"
IMPORT_FOLDER = "imported"


# Files whose front matter can carry an update's dates (an HTML page or a PDF is rewritten
# as Markdown).
REWRITABLE_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
# Who added an article and when: kept from its first add when it is updated.
_PROVENANCE = ("added_by", "added_at")
AddStatus = Literal["added", "updated", "unchanged", "duplicate"]
Undo = Callable[[], None]  # puts the articles folder back as it was before an add


class AddedJson(TypedDict):
    """One article of `newsdesk add --json`."""

    id: str
    title: str
    status: AddStatus
    same_as: str | None  # the stored article a duplicate is a copy of


@dataclass
class IngestOutcome:
    report: SyncReport = field(default_factory=SyncReport)
    messages: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)  # what was handed to the index
    # Lines of bulk files left out: (file name, line number, reason).
    lines_skipped: list[tuple[str, int, str]] = field(default_factory=list)

    def status(self, article: Article) -> AddStatus:
        if article.id in self.report.added:
            return "added"
        if article.id in self.report.changed:
            return "updated"
        if any(dropped == article.id for dropped, _ in self.report.duplicates):
            return "duplicate"
        return "unchanged"

    def as_json(self) -> list[AddedJson]:
        same_as = dict(self.report.duplicates)
        return [
            {
                "id": a.id,
                "title": a.title,
                "status": self.status(a),
                "same_as": same_as.get(a.id),
            }
            for a in self.articles
        ]

    def summary(self) -> str:
        added = len(self.report.added)
        parts = [f"Added {added} article{'s' if added != 1 else ''}"]
        if self.report.changed:
            parts.append(f"{len(self.report.changed)} updated")
        parts.append(f"{self.report.chunks_written} chunks")
        if self.report.unchanged:
            parts.append(f"{self.report.unchanged} already indexed")
        if self.report.duplicates:
            parts.append(f"{len(self.report.duplicates)} duplicates skipped")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.lines_skipped:
            names = len({name for name, _, _ in self.lines_skipped}) > 1
            parts.append(lines_summary(self.lines_skipped, names=names))
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
    engine.check_writable()  # before anything is copied into the articles folder
    outcome = IngestOutcome()
    folder = settings.articles_dir
    folder.mkdir(parents=True, exist_ok=True)
    undo: dict[str, Undo] = {}
    for source in sources:
        try:
            for article, restore in _collect(source, settings, engine, outcome.lines_skipped):
                outcome.articles.append(article)
                if restore is not None:
                    undo[article.id] = restore
        except NewsdeskError as exc:
            outcome.failed.append(source)
            outcome.messages.append(f"skipped {source}: {exc}")
    if outcome.articles:
        try:
            outcome.report = engine.add(outcome.articles, progress=progress)
        except NewsdeskError:
            # Not indexed (a full disk, a busy or damaged index): take the copies back out and
            # the updated files back to their last version, so the articles folder does not
            # hold what the user was told failed.
            for restore in undo.values():
                restore()
            raise
    for dropped, kept in outcome.report.duplicates:
        outcome.messages.append(f"{dropped} is already indexed as {kept}; not added again")
        restore = undo.get(dropped)
        if restore is not None:
            restore()  # the copy we just made is not needed
    _say_updated(outcome)
    return outcome


def _say_updated(outcome: IngestOutcome) -> None:
    titles = {a.id: a.title for a in outcome.articles}
    outcome.messages.extend(f"Updated: {titles.get(aid, aid)}" for aid in outcome.report.changed)


def updated_version(stored: Article, new: Article, *, at: dt.datetime) -> Article:
    """`new` as the next version of `stored`: the same article (its id and file), first
    published when it first was, and updated when the source says it was (a date later than
    the stored one), else at `at`, the time of the re-add. Who first added it is kept."""
    updated = new.updated
    if updated is None or (stored.updated is not None and updated <= stored.updated):
        updated = at
    kept = {key: stored.extra[key] for key in _PROVENANCE if key in stored.extra}
    return replace(
        new,
        id=stored.id,
        path=stored.path,
        published=stored.published or new.published,
        updated=updated,
        extra={**new.extra, **kept},
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _text_changed(stored: Article, new: Article) -> bool:
    return duplicate_keys(stored).text != duplicate_keys(new).text


def add_article(engine: Engine, settings: RetrievalSettings, article: Article) -> IngestOutcome:
    """One article made elsewhere (pasted text, a fetched page): saved as Markdown, indexed."""
    return add_articles(engine, settings, [article], subfolder=WEB_FOLDER if article.url else "")


def add_articles(
    engine: Engine,
    settings: RetrievalSettings,
    articles: Sequence[Article],
    *,
    subfolder: str,
    progress: Progress | None = None,
) -> IngestOutcome:
    """Articles made elsewhere (pasted text, fetched pages, feed entries): each saved as
    Markdown in `subfolder` of the articles folder, then all indexed in one write.

    The index's add is the one duplicate check: a copy of a stored article is reported as
    (its id, the stored one's) and the file just written for it is taken back out. The same
    page with other text is the stored article, updated (`updated_version`): its file is
    rewritten and its text and chunks replaced. If indexing fails, every file is put back."""
    engine.check_writable()  # before anything is written into the articles folder
    outcome = IngestOutcome()
    undo: dict[str, Undo] = {}
    try:
        for article in articles:
            saved, restore = _save_markdown(article, settings, subfolder=subfolder, engine=engine)
            outcome.articles.append(saved)
            if restore is not None:
                undo[saved.id] = restore
        outcome.report = engine.add(outcome.articles, progress=progress)
    except NewsdeskError:
        for restore in undo.values():
            restore()
        raise
    for dropped, kept in outcome.report.duplicates:
        outcome.messages.append(f"already indexed as {kept}")
        restore = undo.get(dropped)
        if restore is not None:
            restore()
    _say_updated(outcome)
    return outcome


def remove_article(engine: Engine, settings: RetrievalSettings, article_id: str) -> Article:
    """Drop it from the index and from the articles folder, so a rebuild doesn't bring it back."""
    article = engine.get_article(article_id)
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r}")
    engine.check_writable()  # before its file is deleted
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
        loaded = load_folder(
            settings.articles_dir,
            max_bytes=settings.max_article_bytes,
            reported=reported,
        )
        return loaded.articles

    # Bad lines of bulk files are warned about once per version of their file, not on every
    # rebuild: which were reported is kept beside the index.
    reported = location.reported_lines(settings.index_dir)
    if full:
        report = engine.rebuild_full(read_folder, progress=progress)
    else:
        report = engine.sync(read_folder, remove_missing=True, progress=progress)
    report.skipped.extend(loaded.skipped)
    report.lines_skipped.extend(loaded.bad_lines)
    if loaded.bad_line_files != reported:
        location.remember_reported_lines(settings.index_dir, loaded.bad_line_files)
    return report


def _collect(
    source: str,
    settings: RetrievalSettings,
    engine: Engine,
    lines_skipped: list[tuple[str, int, str]],
) -> list[tuple[Article, Undo | None]]:
    folder = settings.articles_dir
    if is_url(source):
        article = fetch_article_sync(
            source,
            timeout=settings.fetch_timeout_seconds,
            max_bytes=settings.fetch_max_bytes,
            allow_private=settings.allow_private_urls,
        )
        return [_save_markdown(article, settings, subfolder=WEB_FOLDER, engine=engine)]
    path = Path(source)
    if not path.exists():
        if looks_like_url(source):  # file:, ftp:, data:, javascript:...: say why not
            check_url(source, allow_private=settings.allow_private_urls)
        raise SourceNotFoundError(f"{source} does not exist (give a file, folder or http(s) URL)")
    files = iter_article_files(path) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise SourceNotFoundError(f"no .md, .txt, .html, .pdf or .jsonl files in {source}")
    collected: list[tuple[Article, Undo | None]] = []
    for file in files:
        target, undo = _place_in_folder(file, folder, settings.max_article_bytes)
        try:
            loaded = load_file_report(target, root=folder, max_bytes=settings.max_article_bytes)
            articles = loaded.articles
            lines_skipped.extend((file.name, lineno, why) for lineno, why in loaded.bad_lines)
            if loaded.bad_lines:  # said in this add's summary: not warned about by rebuilds
                _remember_reported(settings, target, loaded.digest)
            if len(articles) == 1 and target.suffix.lower() in REWRITABLE_SUFFIXES:
                articles = [_dated_update(engine, settings, target, articles[0])]
        except NewsdeskError:
            if undo is not None:
                undo()
            raise
        collected.extend((a, undo) for a in articles)
    return collected


def _remember_reported(settings: RetrievalSettings, target: Path, digest: str) -> None:
    """Mark a bulk file's bad lines as reported (see `sync_with_folder`)."""
    relative = target.resolve().relative_to(settings.articles_dir.resolve()).as_posix()
    reported = location.reported_lines(settings.index_dir)
    if reported.get(relative) != digest:
        location.remember_reported_lines(settings.index_dir, reported | {relative: digest})


def _dated_update(
    engine: Engine, settings: RetrievalSettings, target: Path, new: Article
) -> Article:
    """The same file with other text is the stored article, updated: its front matter gets
    the first published date and the updated one (`updated_version`)."""
    stored = engine.get_article(new.id)
    if stored is None or not _text_changed(stored, new) or other_pages(stored, new):
        return new
    merged = updated_version(stored, new, at=_now())
    try:
        write_text_atomic(target, render_markdown(merged))
    except OSError as exc:
        raise write_error(exc, str(target)) from exc
    [saved] = load_file(target, root=settings.articles_dir, max_bytes=settings.max_article_bytes)
    return saved


def _place_in_folder(file: Path, folder: Path, max_bytes: int) -> tuple[Path, Undo | None]:
    """The file's place inside the articles folder; copies it there if it is outside, over
    an earlier version of the same file (not over another page's), and how to undo that."""
    resolved, root = file.resolve(), folder.resolve()
    if resolved.is_relative_to(root):
        return resolved, None
    # Checked before copying: a huge file or a pipe must not reach the folder (or hang us).
    try:
        info = file.stat()
    except OSError as exc:
        raise BadArticleError(f"cannot read {file.name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadArticleError(f"{file.name} is not a regular file")
    bulk = file.suffix.lower() == ".jsonl"
    if not bulk:  # a bulk file's limit is per line, each one article (loaders/jsonl.py)
        check_size(info.st_size, file.name, max_bytes)
    sub = IMPORT_FOLDER if bulk else ""
    target = root / sub / file.name
    previous: bytes | None = None
    if target.exists():
        if _same_bytes(target, file):
            return target, None
        previous = target.read_bytes()
        versions = None if sub else _versions(target, file, root, max_bytes)
        if versions is None or other_pages(*versions):
            # A bulk file is not one article's version; another page is another article.
            raise ArticleExistsError(
                f"{target} already exists with other content; rename {file.name} and add it again"
            )
        if not _text_changed(*versions):
            return target, None  # the same story: the folder's copy keeps its dates
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_file_atomic(file, target)
    except OSError as exc:
        raise write_error(exc, f"{target}") from exc
    return target, _restorer(target, previous)


def _same_bytes(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes, compared piece by piece (a bulk file may be
    large)."""
    return filecmp.cmp(a, b, shallow=False)


def _versions(
    target: Path, file: Path, root: Path, max_bytes: int
) -> tuple[Article, Article] | None:
    """(the folder's version, the new one), or None if either is not one readable article
    (then it is not replaced on a guess)."""
    try:
        [old] = load_file(target, root=root, max_bytes=max_bytes)
        [new] = load_file(file, max_bytes=max_bytes)
    except (NewsdeskError, ValueError):
        return None
    return old, new


def _restorer(path: Path, previous: bytes | None) -> Undo:
    """Puts `path` back: its previous content, or no file if there was none."""

    def restore() -> None:
        if previous is None:
            path.unlink(missing_ok=True)
            return
        try:
            write_bytes_atomic(path, previous)
        except OSError:
            logger.exception("could not put back the previous version of %s", path)

    return restore


def _save_markdown(
    article: Article, settings: RetrievalSettings, *, subfolder: str, engine: Engine
) -> tuple[Article, Undo | None]:
    """The article as saved in the folder, and how to undo what this wrote (None: nothing;
    an identical file may be there already, and it is not ours to take back out).

    The stored article of the same page with other text is updated in its own file; with the
    same text it is handed back as stored (already indexed)."""
    target_dir = settings.articles_dir / subfolder if subfolder else settings.articles_dir
    saved_id = f"{subfolder}/{article.id}" if subfolder else article.id
    stored = engine.stored_version(replace(article, id=saved_id))
    if stored is not None and stored.path and is_update(stored, article):
        return _rewrite(stored, updated_version(stored, article, at=_now()), settings)
    if (
        stored is not None
        and not _text_changed(stored, article)
        and not other_pages(stored, article)
    ):
        return stored, None
    existed = article_file(target_dir, article).exists()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        path = write_article_file(target_dir, article)
    except OSError as exc:
        raise write_error(exc, f"{article.id}.md in {target_dir}") from exc
    [saved] = load_file(path, root=settings.articles_dir, max_bytes=settings.max_article_bytes)
    return saved, None if existed else _restorer(path, None)


def _rewrite(stored: Article, merged: Article, settings: RetrievalSettings) -> tuple[Article, Undo]:
    """The stored article's file rewritten (atomically) as `merged`; an HTML page becomes
    Markdown beside it (the same id), since its dates need front matter."""
    path = settings.articles_dir / str(stored.path)
    if path.suffix.lower() == ".jsonl":
        raise ArticleExistsError(
            f"{stored.id} is a line of {stored.path}; update it there and run `newsdesk index "
            "rebuild`"
        )
    target = path if path.suffix.lower() in REWRITABLE_SUFFIXES else path.with_suffix(".md")
    previous = path.read_bytes() if path.exists() else None
    try:
        write_text_atomic(target, render_markdown(merged))
        if target != path:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise write_error(exc, str(target)) from exc
    undo_target = _restorer(target, previous if target == path else None)

    def undo() -> None:
        undo_target()
        if target != path and previous is not None:
            _restorer(path, previous)()

    [saved] = load_file(target, root=settings.articles_dir, max_bytes=settings.max_article_bytes)
    return saved, undo


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
