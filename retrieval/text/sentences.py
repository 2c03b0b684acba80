"""Sentence boundaries with exact character spans (so excerpts can be quoted verbatim)."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace
# and a likely sentence start; paragraph breaks always end one.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9À-Ý])|\n\s*\n""")
_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof sr jr st mt vs etc inc ltd co corp gen col lt sgt capt rep sen gov "
        "jan feb mar apr jun jul aug sep sept oct nov dec no fig al u.s u.k e.g i.e a.m p.m"
    ).split()
)
_LAST_WORD = re.compile(r"([\w.]+)[.]$")


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the period at text[end-1] closes an abbreviation or an initial ("J. Smith")."""
    match = _LAST_WORD.search(text[max(0, end - 12) : end])
    if not match:
        return False
    word = match.group(1).casefold().rstrip(".")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences in text[start:end], whitespace trimmed, none empty."""
    stop = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, stop):
        cut = match.end()
        if match.group(0).endswith(".") and _is_abbreviation(text, cut):
            continue
        _append_trimmed(text, cursor, cut, spans)
        cursor = cut
    _append_trimmed(text, cursor, stop, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


# A Markdown ATX heading line ("## History", up to three spaces of indentation): markup and
# a label, never a sentence of the story. Its text stays in the article (spans are exact);
# it is not chosen as the answer sentence, excerpts do not start or end with one, and the
# renderers show one inside an excerpt without its marks.
HEADING_LINE = re.compile(r"^[ ]{0,3}#{1,6}(?:[ \t][^\n]*)?$", re.MULTILINE)


def without_heading_lines(text: str, start: int, end: int) -> tuple[int, int] | None:
    """text[start:end] less the heading lines (and whitespace) at its edges; None when
    nothing else is left."""
    lines = [(m.start(), m.end()) for m in HEADING_LINE.finditer(text, start, end)]
    changed = True
    while changed and start < end:
        changed = False
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        line_start = text.rfind("\n", 0, start) + 1
        for s, e in lines:
            if s == line_start and s <= start < max(e, s + 1):
                start, changed = e, True
            elif s < end <= e and (e >= end or text[end:e].strip() == ""):
                end, changed = s, True
    return (start, end) if end > start else None


def parts_between_headings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] cut at its heading lines: the spans left, whitespace trimmed (a
    heading may sit inside a sentence span when no sentence end precedes it)."""
    parts: list[tuple[int, int]] = []
    cursor = start
    for line in HEADING_LINE.finditer(text, start, end):
        _append_trimmed(text, cursor, line.start(), parts)
        cursor = line.end()
    _append_trimmed(text, cursor, end, parts)
    return parts
