"""Saving and loading the FAISS and BM25 files derived from SQLite, crash-safely.

Files are written under new names, then `derived.json` (which names them, with checksums and
the SQLite generation they reflect) is replaced atomically. A missing, stale or corrupt file
is noticed at load and rebuilt from SQLite.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from retrieval.index.dense import DenseIndex
from retrieval.index.lexical import LexicalIndex

logger = logging.getLogger(__name__)
POINTER = "derived.json"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise
    _fsync_dir(path.parent)


def save_derived(
    folder: Path, generation: int, rows: int, dense: DenseIndex, lexical: LexicalIndex
) -> bool:
    """Save both indexes; False (logged) if they could not be written, e.g. on a full disk.

    They are only a cache of SQLite: a failed save costs a rebuild at the next load, never an
    article, so it does not fail the write that asked for it.
    """
    try:
        _save_derived(folder, generation, rows, dense, lexical)
    except (OSError, RuntimeError) as exc:  # RuntimeError: how FAISS reports a failed write
        logger.warning(
            "could not save the search index files in %s (%s); the index is intact and "
            "they will be rebuilt from SQLite when it is next opened",
            folder,
            exc,
        )
        _remove_temporary(folder)
        return False
    return True


def _save_derived(
    folder: Path, generation: int, rows: int, dense: DenseIndex, lexical: LexicalIndex
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    dense_name = f"dense-{generation}.faiss"
    bm25_name = f"bm25-{generation}"
    tmp_dense = folder / f".{dense_name}.tmp"
    dense.save(tmp_dense)
    with tmp_dense.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp_dense, folder / dense_name)

    tmp_bm25 = Path(tempfile.mkdtemp(dir=folder, prefix=f".{bm25_name}."))
    lexical.save(tmp_bm25)
    final_bm25 = folder / bm25_name
    if final_bm25.exists():
        shutil.rmtree(final_bm25)
    os.replace(tmp_bm25, final_bm25)

    pointer = {
        "generation": generation,
        "rows": rows,
        "dense": {"file": dense_name, "sha256": file_digest(folder / dense_name)},
        "bm25": {
            "dir": bm25_name,
            "files": {p.name: file_digest(p) for p in sorted(final_bm25.iterdir())},
        },
    }
    write_json_atomic(folder / POINTER, pointer)
    _remove_unreferenced(folder, keep={dense_name, bm25_name})


def load_derived(
    folder: Path, generation: int, rows: int, dimension: int
) -> tuple[DenseIndex, LexicalIndex] | None:
    """The saved indexes if they match `generation` and are intact, else None (logged)."""
    pointer_path = folder / POINTER
    if not pointer_path.exists():
        return None
    try:
        pointer = json.loads(pointer_path.read_text(encoding="utf-8"))
        if pointer.get("generation") != generation or pointer.get("rows") != rows:
            logger.info("derived index files are stale; rebuilding them from SQLite")
            return None
        dense_path = folder / pointer["dense"]["file"]
        bm25_dir = folder / pointer["bm25"]["dir"]
        problems = []
        if file_digest(dense_path) != pointer["dense"]["sha256"]:
            problems.append(dense_path.name)
        for name, digest in pointer["bm25"]["files"].items():
            if file_digest(bm25_dir / name) != digest:
                problems.append(f"{bm25_dir.name}/{name}")
        if problems:
            logger.warning(
                "derived index files are corrupt (%s); rebuilding them from SQLite",
                ", ".join(problems),
            )
            return None
        return (
            DenseIndex.load(dense_path, dimension, rows),
            LexicalIndex.load(bm25_dir, rows),
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        # RuntimeError is what FAISS raises for an unreadable file.
        logger.warning("derived index files unusable (%s); rebuilding them from SQLite", exc)
        return None


def _remove_temporary(folder: Path) -> None:
    """Half-written files of a failed save (they are hidden, so a later save would also
    remove them; on a full disk the space is wanted now)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith((".dense-", ".bm25-", f".{POINTER}.")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _remove_unreferenced(folder: Path, keep: set[str]) -> None:
    for path in folder.iterdir():
        name = path.name
        is_derived = name.startswith(("dense-", "bm25-", ".dense-", ".bm25-"))
        if not is_derived or name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def remove_other_folders(root: Path, keep: str) -> None:
    """Delete the derived files of databases no longer in use (each has its own folder)."""
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.is_dir() and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
