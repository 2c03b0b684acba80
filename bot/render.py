"""Answers as citations: the one place that decides what a reader sees, for Discord and terminal.

Every character of an excerpt is the article's own; only labels (numbers, titles, "…") are ours.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.dates import TimeWindow, short_date
from retrieval.index.catalogue import ArticleSummary, IndexStatus
from retrieval.search.results import Hit, SearchResult, language_note
from retrieval.text.sentences import sentence_spans

ELLIPSIS = "…"
_SPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True)
class Citation:
    number: int
    article_id: str
    title: str
    url: str | None
    link: str | None  # the url pointing at the highlighted sentence (a text fragment)
    meta: str  # date and source, when known
    before: str  # excerpt text before the highlighted sentence (may start with "…")
    highlight: str  # the sentence that best matches the question
    after: str  # excerpt text after it (may end with "…")
    relevance: float
    also_in: str = ""  # the other copies of the story, e.g. "Valley Herald, Metro Daily"
    label: str | None = None  # "strong match", "good match", "partial match" (search/confidence.py)

    @property
    def excerpt(self) -> str:
        return f"{self.before}{self.highlight}{self.after}"


VAGUE_TEXT = (
    "Ask about something specific: a name, a place, an event or a subject, "
    'for example "Why was Kestrel Bridge closed?"'
)


def left_out_text(result: SearchResult) -> str:
    """'3 weaker matches left out': the hits after the page's clear drop in relevance."""
    count = result.left_out
    if not count:
        return ""
    return f"{count} weaker match{'' if count == 1 else 'es'} left out"


def relevance_bar(relevance: float, width: int = 5) -> str:
    filled = max(1, min(width, round(relevance * width / 0.8)))
    return "▰" * filled + "▱" * (width - filled)


def shown_update(published: dt.datetime | None, updated: dt.datetime | None) -> dt.datetime | None:
    """The update worth naming beside the publication date: one on another day."""
    if published is None or updated is None or short_date(updated) == short_date(published):
        return None
    return updated


def meta_line(hit: Hit) -> str:
    """'15 Dec 2015 (updated 16 Dec 2015) · Reuters': the dates, readably, and the source."""
    date = short_date(hit.published) if hit.published is not None else None
    if date is not None and (updated := shown_update(hit.published, hit.updated)) is not None:
        date += f" (updated {short_date(updated)})"
    return " · ".join(part for part in (date, hit.source) if part)


def other_copies(hit: Hit) -> str:
    """'Valley Herald, Metro Daily': where else the quoted story ran (each copy's source, or
    its title when it has none), the original first; '' for a story in one place."""
    return ", ".join(dict.fromkeys(copy.source or copy.title for copy in hit.also_in))


def group_label(item: ArticleSummary) -> str:
    """How a listed article stands among wire copies: 'copy of <id>' (of the original, the
    earliest published), 'original of 2 copies', or '' for a story in one place."""
    if item.copy_of is not None:
        return f"copy of {item.copy_of}"
    if item.group is not None and item.group_size > 1:
        copies = item.group_size - 1
        return f"original of {copies} cop{'y' if copies == 1 else 'ies'}"
    return ""


def trim_excerpt(hit: Hit, limit: int) -> tuple[str, str, str]:
    """(before, highlight, after) within `limit` characters, cut only at sentence boundaries
    (or, for a single over-long sentence, at a word boundary), marking cuts with "…"."""
    text = hit.excerpt
    h_start = hit.highlight_start - hit.start
    h_end = hit.highlight_end - hit.start
    if len(text) <= limit:
        return text[:h_start], text[h_start:h_end], text[h_end:]
    highlight = text[h_start:h_end]
    if len(highlight) + 2 > limit:
        cut = highlight[: max(1, limit - 2)].rsplit(" ", 1)[0] or highlight[: limit - 2]
        return "", cut, ELLIPSIS
    spans = sentence_spans(text)
    index = next(
        (i for i, (s, e) in enumerate(spans) if s <= h_start < e or s >= h_start), len(spans) - 1
    )
    lo, hi = index, index
    begin, end = h_start, h_end
    # Grow by whole sentences, after first, then before, while the result still fits.
    grew = True
    while grew:
        grew = False
        for side in ("after", "before"):
            if side == "after" and hi + 1 < len(spans):
                candidate = spans[hi + 1][1]
                if _fits(begin, candidate, lo > 0, hi + 2 < len(spans), limit):
                    hi, end, grew = hi + 1, candidate, True
            elif side == "before" and lo > 0:
                candidate = spans[lo - 1][0]
                if _fits(candidate, end, lo - 1 > 0, hi + 1 < len(spans), limit):
                    lo, begin, grew = lo - 1, candidate, True
    before = (ELLIPSIS if begin > 0 else "") + text[begin:h_start]
    after = text[h_end:end] + (ELLIPSIS if end < len(text.rstrip()) else "")
    return before, highlight, after


# A Markdown heading line: its words are quoted, its marks ("## ", a closing " ##") not.
_HEADING = re.compile(r"[ ]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")


def unmark_headings(text: str) -> str:
    """Excerpt text with the marks of the Markdown heading lines in it left out."""
    if "#" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if (heading := _HEADING.fullmatch(line)) is not None:
            lines[i] = heading.group(1) or ""
    return "\n".join(lines)


def _fits(begin: int, end: int, cut_before: bool, cut_after: bool, limit: int) -> bool:
    return (end - begin) + int(cut_before) + int(cut_after) <= limit


def build_citations(
    result: SearchResult, *, first_number: int = 1, excerpt_limit: int = 700
) -> list[Citation]:
    citations = []
    named: set[str] = set()  # articles whose copies a citation already named
    for offset, hit in enumerate(result.hits):
        before, highlight, after = map(unmark_headings, trim_excerpt(hit, excerpt_limit))
        citations.append(
            Citation(
                number=first_number + offset,
                article_id=hit.article_id,
                title=hit.title,
                url=hit.url,
                link=hit.link or hit.url,
                meta=meta_line(hit),
                before=before,
                highlight=highlight,
                after=after,
                relevance=hit.relevance,
                label=hit.label,
                # Once per article: its further passages would repeat the same line.
                also_in="" if hit.article_id in named else other_copies(hit),
            )
        )
        named.add(hit.article_id)
    return citations


DateFormat = Callable[[dt.datetime], str]


def window_text(window: TimeWindow) -> str:
    """'1–7 Sep 2025', 'since 1 Sep 2025', 'before 3 Sep 2025': the days a window keeps
    (its end is exclusive, so the last day shown is the one before it)."""
    since = window.since
    last = window.before - dt.timedelta(microseconds=1) if window.before is not None else None
    if since is not None and last is not None:
        if since.date() == last.date():
            return f"on {short_date(since)}"
        if (since.year, since.month) == (last.year, last.month):
            return f"from {since.day}–{short_date(last)}"
        if since.year == last.year:
            return f"from {since.day} {since:%b}–{short_date(last)}"
        return f"from {short_date(since)} to {short_date(last)}"
    if since is not None:
        return f"since {short_date(since)}"
    assert window.before is not None
    return f"before {short_date(window.before)}"


def time_notes(result: SearchResult, date: DateFormat = short_date) -> list[str]:
    """What time did to the answer, in words: the window kept to, an empty window and the
    newest article before it, or old newest evidence for a question asking for the latest.
    `date` writes a single date (Discord's writes a timestamp each reader sees locally)."""
    time = result.time
    notes: list[str] = []
    if time.window:
        if time.empty_window:
            note = f"No articles {window_text(time.window)}."
            if time.newest_before_title is not None and time.newest_before_window is not None:
                note += (
                    f" The newest before that: {time.newest_before_title} "
                    f"({date(time.newest_before_window)})."
                )
            notes.append(note)
        else:
            notes.append(f"Articles {window_text(time.window)}.")
    if time.unmatched_window:
        notes.append(
            f"No articles {window_text(time.unmatched_window)}; the best matches from any date."
        )
    if time.newest_is_old and time.newest_evidence is not None:
        notes.append(f"Newest article on this: {date(time.newest_evidence)}.")
    if time.asked_at is not None:
        notes.append(f"As of {date(time.asked_at)}: later articles are not searched.")
    return notes


def no_match_text(result: SearchResult, date: DateFormat = short_date) -> str:
    if result.time.empty_window:
        return "\n".join(time_notes(result, date))
    if result.reason == "vague":
        return VAGUE_TEXT
    lines = ["No good match in the articles for that question."]
    if (note := language_note(result)) is not None:
        lines.append(note)
    if result.nearest:
        lines.append("Nearest articles: " + "; ".join(result.nearest))
    return "\n".join(lines)


def render_text(
    result: SearchResult,
    *,
    first_number: int = 1,
    excerpt_limit: int = 700,
    bold: tuple[str, str] = ("\033[1m", "\033[0m"),
    show_scores: bool = True,
) -> str:
    """The answer for a terminal; `bold` marks the best-matching sentence."""
    if result.abstained:
        return no_match_text(result)
    notes = time_notes(result)
    if (note := language_note(result)) is not None:
        notes.insert(0, note)
    blocks = ["\n".join(notes)] if notes else []
    for citation, hit in zip(
        build_citations(result, first_number=first_number, excerpt_limit=excerpt_limit),
        result.hits,
        strict=True,
    ):
        head = f"[{citation.number}] {citation.title}"
        if citation.meta:
            head += f" ({citation.meta})"
        lines = [head]
        if citation.link:
            lines.append(f"    {citation.link}")
        if citation.also_in:
            lines.append(f"    Also in: {citation.also_in}")
        body = (
            _collapse(citation.before)
            + bold[0]
            + _collapse(citation.highlight)
            + bold[1]
            + _collapse(citation.after)
        )
        lines.append(f"    “{body.strip()}”")
        label = f"    {relevance_bar(citation.relevance)}"
        if citation.label:
            label += f" {citation.label}"
        if show_scores:
            parts = [f"score {hit.score:.4f}"]
            if hit.dense_score is not None:
                parts.append(f"cosine {hit.dense_score:.3f}")
            if hit.bm25_score is not None:
                parts.append(f"bm25 {hit.bm25_score:.2f}")
            label += " (" + ", ".join(parts) + ")"
        lines.append(label)
        blocks.append("\n".join(lines))
    if left_out := left_out_text(result):
        blocks.append(f"({left_out})")
    return "\n\n".join(blocks)


def _collapse(text: str) -> str:
    """Paragraph breaks inside an excerpt read better as spaces in a one-block quote."""
    return _SPACE_RUN.sub(" ", text)


def render_status_lines(status: IndexStatus) -> list[str]:
    from datetime import UTC, datetime

    built = (
        datetime.fromtimestamp(status.last_build, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        if status.last_build
        else "never"
    )
    size = status.size_bytes / 1_048_576
    return [
        f"Articles: {status.articles}",
        f"Chunks: {status.chunks}",
        f"Model: {status.model} ({status.dimension} dimensions)",
        f"Index size: {size:.1f} MB",
        f"Last build: {built}",
    ]
