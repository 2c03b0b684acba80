"""The only edits allowed on article bodies besides removing boilerplate: trimming blank lines."""

from __future__ import annotations


def trim_blank_lines(text: str) -> str:
    """Drop blank lines at the start and whitespace at the end; indentation of line one stays."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    return "\n".join(lines[start:]).rstrip()


def word_count(line: str) -> int:
    return sum(1 for token in line.split() if any(ch.isalnum() for ch in token))
