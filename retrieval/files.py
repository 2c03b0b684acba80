"""Crash-safe file writes and cross-process locks, for the index, the articles folder and
the model cache alike.

A write goes to a hidden temporary name beside its target (so a folder scan skips it), is
synced, then renamed over the target: a reader or a kill at any moment sees the old file or
the new one, never half of one. A lock is an flock on a file, released by the kernel when
its holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path, *, overwrite: bool = True) -> Iterator[IO[bytes]]:
    """A binary handle whose content becomes `path` when the block ends without error.

    Without `overwrite` the file is published with a hard link, which fails with
    FileExistsError when another writer got there first (where the file system has no hard
    links, a check then a rename: a tiny race remains)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; these are ordinary files
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def _link_new(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(tmp, target)


def write_bytes_atomic(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    with atomic_writer(path, overwrite=overwrite) as handle:
        handle.write(data)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Mapping[str, object]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


def write_with_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """For writers that want a file name (FAISS, numpy): `write` to a temporary name, synced,
    then renamed into place."""
    tmp = path.parent / f".{path.name}.tmp"
    try:
        write(tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def copy_file_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        shutil.copyfile(source, tmp)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def file_lock(
    path: Path,
    *,
    on_wait: Callable[[int | None], None] | None = None,
    patience: float = 1.0,
) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing), which then holds this process's
    id. When another process holds it for more than `patience` seconds, `on_wait` is called
    once with that holder's process id (None if unknown), then the wait goes on."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _wait_for_lock(fd, patience):
            if on_wait is not None:
                on_wait(_holder(fd))
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # who holds it, for the next one who has to wait
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:  # only a waiting process's message would lack the id
            logger.debug("could not write the process id into %s: %s", path, exc)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _wait_for_lock(fd: int, patience: float) -> bool:
    """Whether the lock was taken within `patience` seconds (tried every 50 ms)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _holder(fd: int) -> int | None:
    """The process id the lock's holder wrote into the lock file, if it did."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
