"""Where the live database is: `current.json` names it, so a full rebuild can build a new one
beside it and switch over with one atomic rename."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from retrieval.errors import IndexCorruptError, IndexReadOnlyError, WriteError, write_error
from retrieval.files import file_lock, write_json_atomic

logger = logging.getLogger(__name__)
POINTER = "current.json"
# The bulk files whose bad lines were reported, with the hash of the version reported.
REPORTED_LINES = "reported-lines.json"


def current_database(index_dir: Path) -> Path | None:
    pointer = index_dir / POINTER
    if not pointer.exists():
        return None
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["database"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{pointer} is damaged ({type(exc).__name__})") from exc
    if not isinstance(name, str) or Path(name).name != name or not name:
        raise IndexCorruptError(f"{pointer} is damaged")
    return index_dir / name


def is_read_only(index_dir: Path, *, forced: bool = False) -> bool:
    """Whether the index must be opened only to search it: asked for
    (NEWSDESK_INDEX_READ_ONLY), or its folder (or the live database) cannot be written."""
    if forced:
        return True
    if not index_dir.exists():
        return False  # made by the first write
    if not os.access(index_dir, os.W_OK):
        return True
    try:
        database = current_database(index_dir)
    except IndexCorruptError:
        return False  # a damaged pointer is for a full rebuild to replace, not read-only
    return database is not None and database.exists() and not os.access(database, os.W_OK)


def read_only_error(index_dir: Path, *, forced: bool = False) -> IndexReadOnlyError:
    """The refusal of a change to a read-only index, with what makes it writable."""
    if forced:
        return IndexReadOnlyError(
            f"the index {index_dir} is opened read-only (NEWSDESK_INDEX_READ_ONLY is set): it "
            "can be searched, not changed; unset NEWSDESK_INDEX_READ_ONLY to change it"
        )
    return IndexReadOnlyError(
        f"the index folder {index_dir} is read-only: it can be searched, not changed; make "
        f"it writable (chmod -R u+w {index_dir}) or set NEWSDESK_INDEX_DIR to a writable folder"
    )


def switch_database(index_dir: Path, database: Path) -> Path | None:
    """Point at `database`; returns the previous one (the caller deletes it)."""
    try:
        previous = current_database(index_dir)
    except IndexCorruptError as exc:
        logger.warning("replacing a damaged index pointer: %s", exc)
        previous = None
    try:
        write_json_atomic(index_dir / POINTER, {"database": database.name})
    except OSError as exc:
        raise write_error(exc, f"the index pointer {index_dir / POINTER}") from exc
    return previous


def next_database_name(index_dir: Path) -> Path:
    numbers = [
        int(p.stem.split("-")[1])
        for p in index_dir.glob("newsdesk-*.sqlite3")
        if p.stem.split("-")[1].isdigit()
    ]
    return index_dir / f"newsdesk-{max(numbers, default=0) + 1}.sqlite3"


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()


def remove_other_databases(index_dir: Path, keep: Path) -> list[Path]:
    """Delete every database but `keep`: leftovers of a full rebuild that was killed or failed
    before its switch. Call it holding the write lock, with `keep` the current database."""
    removed = []
    for path in index_dir.glob("newsdesk-*.sqlite3"):
        if path.name != keep.name:
            remove_database(path)
            removed.append(path)
    if removed:
        logger.info("removed %d unused index database(s) in %s", len(removed), index_dir)
    return removed


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time across processes (bot and CLI); released even if killed."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        held = contextlib.ExitStack()
        held.enter_context(file_lock(index_dir / "write.lock", on_wait=_log_waiting))
    except OSError as exc:
        raise _folder_error(exc, index_dir) from exc
    with held:
        yield


def _folder_error(exc: OSError, index_dir: Path) -> WriteError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return read_only_error(index_dir)
    return write_error(exc, f"the index folder {index_dir}")


def _log_waiting(holder: int | None) -> None:
    # A warning, so the CLI shows it on stderr: a command that seems stuck says why.
    who = f" (pid {holder})" if holder is not None else ""
    logger.warning("waiting for another newsdesk process%s to finish writing the index…", who)


def reported_lines(index_dir: Path) -> dict[str, str]:
    """Path -> content hash of the bulk files whose bad lines were already warned about."""
    try:
        data = json.loads((index_dir / REPORTED_LINES).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.info("ignoring %s (%s)", index_dir / REPORTED_LINES, exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def remember_reported_lines(index_dir: Path, files: dict[str, str]) -> None:
    """Keep which bulk files' bad lines were reported; a failure only costs a repeated
    warning, so it is logged, not raised."""
    try:
        write_json_atomic(index_dir / REPORTED_LINES, files)
    except OSError as exc:
        logger.info("could not write %s: %s", index_dir / REPORTED_LINES, exc)
