"""The BM25 index on disk: the main segment's folder, delta segments' folders and a small
state (segment list and tombstones), each folder named for its content so an add writes only
what is new. JSON and .npy files; nothing is pickled."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from retrieval.index.bm25 import LexicalIndex
from retrieval.index.bm25_segments import (
    DEAD_FILE,
    FORMAT,
    MAIN_PREFIX,
    STATE_FILE,
    STATE_PREFIX,
    MainSegment,
    Segment,
)


def bm25_parts(index: LexicalIndex) -> dict[str, Callable[[Path], None]]:
    """Folder name -> function writing that folder, for each folder this index is saved
    as: the main segment, then (with changes pending) each delta segment and a small
    state. A name always stands for the same content, so a folder already saved under
    its name need not be written again: an add writes kilobytes, not the main segment."""
    out: dict[str, Callable[[Path], None]] = {index.main.name: index.main.write}
    if not index.is_plain:
        for seg in index.segments:
            out[seg.name] = partial(seg.write, index.vocab)
        out[index.state_name] = partial(_write_state, index)
    return out


def _write_state(index: LexicalIndex, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "main": index.main.name,
        "main_rows": index.main.rows,
        "size": index.size,
        "segments": [
            {"name": s.name, "first": s.first, "rows": len(s.lengths)} for s in index.segments
        ],
    }
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    np.save(folder / DEAD_FILE, index.dead, allow_pickle=False)


def save_bm25(index: LexicalIndex, folder: Path) -> None:
    """The main segment's files in `folder`, any other parts in subfolders of it."""
    for name, write in bm25_parts(index).items():
        write(folder if name == index.main.name else folder / name)


def load_bm25(folder: Path, size: int) -> LexicalIndex:
    """What `save_bm25` wrote (or a bare bm25s folder)."""
    states = sorted(p.name for p in folder.glob(STATE_PREFIX + "*"))
    if len(states) > 1:
        raise ValueError(f"{folder} holds {len(states)} BM25 states")
    return _read(folder, folder / states[0] if states else None, folder, size)


def load_bm25_parts(folder: Path, names: Sequence[str], size: int) -> LexicalIndex:
    """What `bm25_parts` wrote as sibling folders of `folder` (all of them named)."""
    mains = [n for n in names if n.startswith(MAIN_PREFIX)]
    states = [n for n in names if n.startswith(STATE_PREFIX)]
    if len(mains) != 1 or len(states) > 1:
        raise ValueError(f"BM25 parts {sorted(names)} are not one main segment + state")
    index = _read(folder / mains[0], folder / states[0] if states else None, folder, size)
    missing = {s.name for s in index.segments} - set(names)
    if missing:
        raise ValueError(f"BM25 segments {sorted(missing)} are not listed")
    return index


def _read(main_dir: Path, state_dir: Path | None, root: Path, size: int) -> LexicalIndex:
    main = MainSegment.read(main_dir)
    index = LexicalIndex.on_main(main)
    if state_dir is not None:
        index = _with_state(index, state_dir, root)
    if index.size != size:
        raise ValueError(f"BM25 index has {index.size} rows, expected {size}")
    return index


def _with_state(index: LexicalIndex, folder: Path, root: Path) -> LexicalIndex:
    """This (freshly read) main segment with the saved delta segments and tombstones."""
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    main = index.main
    if state.get("format") != FORMAT or state.get("main") != main.name:
        raise ValueError(f"BM25 state {folder.name} is not for main segment {main.name}")
    if state.get("main_rows") != main.rows or main.lengths is None:
        raise ValueError(f"BM25 state {folder.name} does not match its main segment")
    vocab = index.vocab
    segments: list[Segment] = []
    first = main.rows
    for entry in state["segments"]:
        if entry["first"] != first:
            raise ValueError(f"BM25 state {folder.name} has a gap at row {first}")
        seg = Segment.read(root / entry["name"], first, int(entry["rows"]), vocab)
        segments.append(seg)
        first += len(seg.lengths)
    end = first
    dead = np.load(folder / DEAD_FILE, allow_pickle=False).astype(np.int64)
    if len(dead) and (dead[0] < 0 or dead[-1] >= end or (np.diff(dead) <= 0).any()):
        raise ValueError(f"BM25 state {folder.name} has bad tombstones")
    alive = np.ones(end, dtype=bool)
    alive[dead] = False
    # Live document frequencies: the main segment's, plus the delta rows', minus the
    # removed rows' (found in the postings).
    df = np.zeros(len(vocab), dtype=np.int64)
    df[: len(main.df)] = main.df
    for seg in segments:
        df += np.bincount(seg.tok, minlength=len(vocab))
        df -= np.bincount(seg.tok[~alive[seg.row]], minlength=len(vocab))
    dead_main = dead[dead < main.rows]
    if len(dead_main):
        hits = np.flatnonzero(~alive[main.indices])
        cols = np.searchsorted(main.indptr, hits, side="right") - 1
        df -= np.bincount(cols, minlength=len(vocab))
    delta_lengths = (
        np.concatenate([s.lengths for s in segments]) if segments else np.zeros(0, dtype=np.int64)
    )
    total = int(np.concatenate([main.lengths, delta_lengths])[alive].sum())
    loaded = LexicalIndex(
        main,
        vocab,
        df,
        segments=tuple(segments),
        delta_lengths=delta_lengths,
        dead=dead,
        total_length=total,
        state_name=folder.name,
    )
    if loaded.size != state.get("size"):
        raise ValueError(f"BM25 state {folder.name} does not add up")
    return loaded
