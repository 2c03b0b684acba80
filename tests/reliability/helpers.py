"""What "nothing changed" means for an index and its articles folder, read from disk."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from retrieval.index import location
from retrieval.index.store import Store

RECOVERY = "newsdesk index rebuild --full"


@dataclass(frozen=True)
class IndexState:
    """The committed state of an index: which database, its generation, what it holds."""

    database: str
    generation: int
    articles: int
    chunks: int
    content: tuple[tuple[str, str], ...]  # (article id, content hash), sorted

    @property
    def ids(self) -> set[str]:
        return {article_id for article_id, _ in self.content}


def index_state(index_dir: Path) -> IndexState:
    database = location.current_database(index_dir)
    assert database is not None and database.exists(), f"no index in {index_dir}"
    store = Store(database)
    articles, chunks = store.counts()
    content = tuple(sorted((aid, value[0]) for aid, value in store.article_hashes().items()))
    return IndexState(database.name, store.generation(), articles, chunks, content)


def folder_state(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden temp files included) -> sha256 of its bytes."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def one_line(text: str) -> str:
    """The only non-blank line of `text`; fails on a traceback or on several lines."""
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def cli_error(out: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """A failed command's one-line error (exit `code`: see retrieval.errors; nothing on
    stdout but the summary)."""
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    return one_line(out.stderr)
