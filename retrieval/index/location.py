"""Where the live database is: `current.json` names it, so a full rebuild can build a new one
beside it and switch over with one atomic rename."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from retrieval.index.derived import write_json_atomic

logger = logging.getLogger(__name__)
POINTER = "current.json"


def current_database(index_dir: Path) -> Path | None:
    pointer = index_dir / POINTER
    if not pointer.exists():
        return None
    name = json.loads(pointer.read_text(encoding="utf-8"))["database"]
    return index_dir / str(name)


def switch_database(index_dir: Path, database: Path) -> Path | None:
    """Point at `database`; returns the previous one (the caller deletes it)."""
    previous = current_database(index_dir)
    write_json_atomic(index_dir / POINTER, {"database": database.name})
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


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time across processes (bot and CLI); released even if killed."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / "write.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("another newsdesk process is writing the index; waiting for it")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
