"""Shared constants and helpers for the loader tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTICLES = REPO / "articles"
SAMPLE_SCRAPE = ARTICLES / "kerry-seeks-real-progress-on-syria.txt"
MAX_BYTES = 1_000_000


def write(root: Path, relative: str, content: str | bytes) -> Path:
    """Write a file under root byte for byte (no newline translation)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path
