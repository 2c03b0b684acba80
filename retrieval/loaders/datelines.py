"""Dates in the first lines of a body: bylines, "Updated …" lines and wire datelines.

A page scrape or a Markdown file without front matter often says when it was written only in
its text: "Updated 3:45 PM GMT, December 15, 2015", "*By Priya Nair — 12 May 2025*",
"MOSCOW, Dec 15 (Reuters) - …". Own code here only finds such a line among the first few and
cuts out the part that should be a date; parsing is `retrieval.dates.parse_date`'s, so a
relative value ("Updated 2 hours ago") is refused like anywhere else. The body itself is
never changed: the lines stay in the quoted text.

A wire dateline names a day without a year. It is only used when a year can be known from
another date among those lines (the "Updated" line of the same story, say), and is otherwise
refused: a day of an unknown year is no date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from retrieval.dates import article_date, parse_date

HEAD_LINES = 10  # non-blank lines looked at
MAX_LINE_CHARS = 200  # a byline or date line is short; prose is not searched for dates
MAX_DATE_WORDS = 10  # an unlabelled part longer than this is prose, not a date

# Markdown emphasis, headings and quotes around a byline ("*By …*", "> Updated …").
_MARKUP = "*_#> \t"
# Parts of a byline or date line: "By A — 12 May 2025", "Published … | Updated …".
_SEPARATOR = re.compile(r"\s+[—–|·•-]\s+|\s*[|·•]\s*")
_LABEL = re.compile(
    r"^(?P<label>(?:last\s+)?(?:updated|modified)|(?:first\s+)?(?:published|posted))"
    r"(?:\s+on)?\s*[:,]?\s+(?!by\s)(?P<value>\S.*)$",
    re.IGNORECASE,
)
# Every absolute date with a year has one; a bare number ("42", an epoch) is no dateline.
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
_BYLINE = re.compile(r"^by\s+\S", re.IGNORECASE)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# "Dec 15 (Reuters) -", "MOSCOW, Dec 15 (Reuters) -", "Dec 15, 2015 (AP) —".
_DATELINE = re.compile(
    r"^(?:[A-Z][\w.'’ -]{0,40},\s+)?"
    rf"(?P<day>{_MONTH}\s+\d{{1,2}})(?:,?\s+(?P<year>\d{{4}}))?"
    r"\s+\([^()]{1,40}\)\s*[-–—]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Found:
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    yearless: str | None = None  # a dateline's "Dec 15", for a year known from elsewhere


def _core(line: str) -> str:
    return line.strip().strip(_MARKUP).strip()


def _short(text: str) -> bool:
    return 0 < len(text.split()) <= MAX_DATE_WORDS


def _unlabelled_date(part: str) -> dt.datetime | None:
    """A part that is a date on its own, or ends in one after a comma ("Jane Doe, 12 May
    2025"): the first suffix that parses."""
    if not _short(part) or not _YEAR.search(part) or part.isdigit():
        return None
    found = parse_date(part)
    if found is not None:
        return found
    pieces = part.split(", ")
    for start in range(1, len(pieces)):
        found = parse_date(", ".join(pieces[start:]))
        if found is not None:
            return found
    return None


def _line_dates(core: str, where: str) -> _Found:
    dateline = _DATELINE.match(core)
    if dateline is not None:
        if dateline["year"] is None:
            return _Found(yearless=dateline["day"])
        return _Found(published=parse_date(f"{dateline['day']} {dateline['year']}"))
    if len(core) > MAX_LINE_CHARS:
        return _Found()
    parts = [p.strip() for p in _SEPARATOR.split(core) if p.strip()]
    byline = bool(parts) and _BYLINE.match(parts[0]) is not None
    published = updated = None
    for index, part in enumerate(parts):
        labelled = _LABEL.match(part)
        if labelled is not None:
            value = article_date(labelled["value"], field=labelled["label"].lower(), where=where)
            if labelled["label"].lower().endswith(("updated", "modified")):
                updated = updated or value
            else:
                published = published or value
        elif (byline and index > 0) or len(parts) == 1:
            published = published or _unlabelled_date(part)
    if byline and published is None:
        published = _unlabelled_date(parts[0][3:].strip())  # "By Jane Doe, 12 May 2025"
    return _Found(published=published, updated=updated)


def _with_year(day: str, reference: dt.datetime) -> dt.datetime | None:
    """`day` in the year that puts it on or before `reference` (a story's dateline is never
    after its own update), at most a year before."""
    for year in (reference.year, reference.year - 1):
        found = parse_date(f"{day} {year}")
        if found is not None and found.date() <= reference.date():
            return found
    return None


def body_dates(text: str, *, where: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(published, updated) named by the first lines of `text`, or (None, None).

    "Updated …" gives `updated` beside a known publication date; alone it is the story's
    only date, and so its publication date (as for front matter)."""
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    yearless: str | None = None
    lines = [core for line in text.split("\n", 200)[:200] if (core := _core(line))]
    for core in lines[:HEAD_LINES]:
        found = _line_dates(core, where)
        published = published or found.published
        updated = updated or found.updated
        yearless = yearless or found.yearless
    if published is None and yearless is not None:
        reference = updated
        published = _with_year(yearless, reference) if reference is not None else None
    if published is None:
        published, updated = updated, None
    if published is not None and updated is not None and updated <= published:
        updated = None
    return published, updated
