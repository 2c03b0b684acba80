"""Saving and loading the FAISS and BM25 files derived from SQLite, crash-safely.

Files are written under new names, then `derived.json` (which names them, with checksums and
the SQLite generation they reflect) is replaced atomically. A missing, stale or corrupt file
is noticed at load and rebuilt from SQLite.

The dense index is saved as its FAISS base, named by `base_id` and written only when that
changes, plus a small file of delta rows and tombstones (see dense.py). The BM25 index is
saved as folders whose names stand for their content (see
`bm25_parts`): its main segment, and after adds or removes small delta folders. A
folder the current `derived.json` already lists is kept as it is, with its checksums, so an
add writes only the few kilobytes that changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from retrieval.files import write_json_atomic, write_with_atomic
from retrieval.index.bm25 import LexicalIndex
from retrieval.index.bm25_files import bm25_parts, load_bm25_parts
from retrieval.index.dense import DenseIndex

logger = logging.getLogger(__name__)
POINTER = "derived.json"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    previous = _read_pointer(folder)
    dense_name = f"dense-{dense.base_id}.faiss"
    dense_entry = previous.get("dense") if isinstance(previous.get("dense"), dict) else None
    if (
        dense_entry is None
        or dense_entry.get("file") != dense_name
        or not (folder / dense_name).is_file()
    ):
        # A new base (first save, merged delta, rebuild); otherwise the file on disk is it.
        write_with_atomic(folder / dense_name, dense.save_base)
        dense_entry = {"file": dense_name, "sha256": file_digest(folder / dense_name)}
    changes_name = f"dense-changes-{generation}.npz"
    write_with_atomic(folder / changes_name, dense.save_changes)

    saved = _saved_bm25_parts(folder)
    parts: dict[str, dict[str, str]] = {}
    for name, write in bm25_parts(lexical).items():
        final = folder / name
        if name in saved and final.is_dir():
            parts[name] = saved[name]  # written by an earlier save, unchanged since
            continue
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{name}."))
        write(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        parts[name] = {p.name: file_digest(p) for p in sorted(final.iterdir())}

    pointer = {
        "generation": generation,
        "rows": rows,
        "dense": {
            "file": dense_entry["file"],
            "sha256": dense_entry["sha256"],
            "changes": {"file": changes_name, "sha256": file_digest(folder / changes_name)},
        },
        "bm25": {"parts": parts},
    }
    write_json_atomic(folder / POINTER, pointer)
    _remove_unreferenced(folder, keep={dense_name, changes_name, *parts})


def _read_pointer(folder: Path) -> dict[str, Any]:
    try:
        pointer = json.loads((folder / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return pointer if isinstance(pointer, dict) else {}


def _saved_bm25_parts(folder: Path) -> dict[str, dict[str, str]]:
    """The BM25 folders (name -> file checksums) the current pointer lists, if readable."""
    try:
        return _bm25_parts(_read_pointer(folder))
    except (KeyError, TypeError, AttributeError):
        return {}


def _bm25_parts(pointer: dict[str, Any]) -> dict[str, dict[str, str]]:
    bm25 = pointer["bm25"]
    if "parts" in bm25:
        return {str(k): dict(v) for k, v in bm25["parts"].items()}
    return {str(bm25["dir"]): dict(bm25["files"])}  # saved before BM25 had delta segments


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
        changes = pointer["dense"].get("changes")  # absent in files saved by older versions
        changes_path = folder / changes["file"] if changes else None
        saved_parts = _bm25_parts(pointer)
        problems = []
        if file_digest(dense_path) != pointer["dense"]["sha256"]:
            problems.append(dense_path.name)
        if changes_path is not None and file_digest(changes_path) != changes["sha256"]:
            problems.append(changes_path.name)
        for part, files in saved_parts.items():
            for name, digest in files.items():
                if file_digest(folder / part / name) != digest:
                    problems.append(f"{part}/{name}")
        if problems:
            logger.warning(
                "derived index files are corrupt (%s); rebuilding them from SQLite",
                ", ".join(problems),
            )
            return None
        return (
            DenseIndex.load(
                dense_path,
                changes_path,
                dimension,
                rows,
                base_id=dense_path.name.removeprefix("dense-").removesuffix(".faiss"),
            ),
            load_bm25_parts(folder, list(saved_parts), rows),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        # RuntimeError is what FAISS raises for an unreadable file.
        logger.warning("derived index files unusable (%s); rebuilding them from SQLite", exc)
        return None


def _remove_temporary(folder: Path) -> None:
    """Half-written files of a failed save (they are hidden, so a later save would also
    remove them; on a full disk the space is wanted now)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.startswith((".dense-", ".bm25", f".{POINTER}.")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _remove_unreferenced(folder: Path, keep: set[str]) -> None:
    for path in folder.iterdir():
        name = path.name
        is_derived = name.startswith(("dense-", "bm25", ".dense-", ".bm25"))
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
