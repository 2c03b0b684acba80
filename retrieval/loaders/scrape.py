"""Cleaning page text: drop share/nav/cookie lines around a story, find a scrape's headline.

A line counts as boilerplate only when it is short or matches a curated phrase AND sits in the
leading or trailing block (before the first / after the last prose line), or when it is a
share/cookie/advertisement line or a link to another story ("Related: …", or a "Read more"
label over a list of headlines), which is removed anywhere. Prose sentences are never dropped.
Plain-text scrapes (`clean_scrape`) and the text trafilatura extracts from HTML pages
(`drop_boilerplate`) go by the same rules.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from retrieval.loaders.textbody import trim_blank_lines, word_count

# A line ends like a sentence: final punctuation, maybe followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"""[.!?…:]['"’”»)\]]*$""")
_LEAD_SYMBOLS = re.compile(r"^[\s•·|»›>*#=~+–—-]+")
_BYLINE_OR_DATE = re.compile(
    r"^(by\s|updated\b|published\b|posted\b|\d{1,2}[ ./-]|\d{4}[-/]|"
    r"(mon|tues|wednes|thurs|fri|satur|sun)day\b|"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d)",
    re.IGNORECASE,
)

# Lines made only of these words are share bars ("Share this article", "WhatsApp WhatsApp us").
_SHARE_WORDS = frozenset(
    [
        "share",
        "shares",
        "sharing",
        "tweet",
        "email",
        "e-mail",
        "mail",
        "print",
        "facebook",
        "twitter",
        "x",
        "whatsapp",
        "linkedin",
        "pinterest",
        "reddit",
        "telegram",
        "messenger",
        "flipboard",
        "bluesky",
        "threads",
        "mastodon",
        "sms",
        "bookmark",
        "save",
        "copy",
        "link",
        "url",
        "this",
        "the",
        "article",
        "story",
        "page",
        "post",
        "on",
        "via",
        "with",
        "to",
        "us",
        "a",
        "friend",
        "comments",
    ]
)
_SHARE_STRONG = frozenset(
    [
        "share",
        "sharing",
        "tweet",
        "email",
        "e-mail",
        "print",
        "facebook",
        "twitter",
        "whatsapp",
        "linkedin",
        "pinterest",
        "reddit",
        "telegram",
        "messenger",
        "flipboard",
        "bluesky",
        "mastodon",
        "sms",
        "bookmark",
    ]
)
_MAX_SHARE_WORDS = 10

# (pattern matched at the start of the line, most words such a line may have)
_COOKIE_PATTERNS = (
    re.compile(r"(accept|reject|allow|manage|decline)( all| necessary| optional)? cookies", re.I),
    re.compile(r"(this (web)?site|we|our (web)?site|this page) (uses?|use) cookies", re.I),
    re.compile(r"cookie (settings|preferences|policy|consent|notice)", re.I),
    re.compile(r"by (continuing|using|browsing) (to (use|browse) )?(this|our) (web)?site", re.I),
)
_MAX_COOKIE_WORDS = 60
_AD_PATTERNS = (
    re.compile(r"(advertisement|advertising|advert|ad|sponsored( content)?)\W*$", re.I),
    re.compile(r"(story|article) continues (below|after)( (the )?(advertisement|ad))?\W*$", re.I),
)
_MAX_AD_WORDS = 6
# Links to other stories set into a page: a label, a separator, a headline ("Related: Floods
# close the A28", "READ MORE | Mayor defends budget"). The label alone is an edge phrase, and
# heads a list of such links anywhere.
_LINK_LABEL = (
    r"(related( (stories|articles|coverage|content|news|reading|links|topics))?|"
    r"read (more|also|next)|also read|see also|more on this( story| topic)?|"
    r"recommended( reading| for you)?|(you (may|might) )?also like|watch( now)?|listen)"
)
_LINK = re.compile(_LINK_LABEL + r"\s*(?:[:|»›>–—-]\s*(?P<rest>.*))?", re.I)
_LIST_ITEM = re.compile(r"\s*[-*•·–—]\s")
# Known phrases that are boilerplate in the leading/trailing block even when they end with a
# full stop ("Wait a sec, saving restore vars."): no story starts or ends with them.
_EDGE_PATTERNS_STRONG = (
    re.compile(r"(skip|jump|go) to (the )?(main )?(content|navigation|article)", re.I),
    re.compile(r"(loading|please wait)(\.\.\.|…)?\W*$", re.I),
    re.compile(r"(wait a (sec|second|moment|minute)|one moment( please)?)\b", re.I),
    re.compile(
        r"(sign up|subscribe)( now)? (for|to) (our|the|my) \w*\s?(newsletter|emails?)", re.I
    ),
    re.compile(r"(back to top|click here|tap here|listen to (this|the) (article|story))", re.I),
    re.compile(r"(©|\(c\)\s|copyright\s+(©\s*)?\d{4}|all rights reserved)", re.I),
    re.compile(r"(privacy policy|terms (of|and) (use|service|conditions))", re.I),
    re.compile(r"\d+\s*min(ute)?s?\s+read\b", re.I),
)
# Known phrases that are boilerplate there only when they do not read like a sentence.
_EDGE_PATTERNS_WEAK = (
    re.compile(r"(toggle |main |open |close )?(menu|navigation)\W*$", re.I),
    re.compile(r"(subscribe|sign up|sign in|log in|login|register|create an account)\b", re.I),
    re.compile(r"(get|receive|join) (our|the|my) \w*\s?(newsletter|emails?|updates)", re.I),
    re.compile(r"(our |the |daily |weekly )?newsletters?\b", re.I),
    re.compile(r"(read|see|show|load|view) (more|full|all)\b", re.I),
    re.compile(r"continue reading\b", re.I),
    re.compile(r"(related|recommended|popular|trending|latest)\b", re.I),
    re.compile(r"(more (from|on|stories|news|articles)\b|most (read|popular|viewed|shared))", re.I),
    re.compile(r"you (may|might) also (like|be interested)", re.I),
    re.compile(r"follow (us|@\w+|the \w+|our \w+)", re.I),
    re.compile(
        r"((leave|post|add|view|show) (a |the )?comments?|comments?\s*(\(\d+\))?\W*$)", re.I
    ),
)
_MAX_EDGE_WORDS = 12

# A headline is a title-length line that does not end like a sentence.
_HEADLINE_MIN_WORDS = 3
_HEADLINE_MAX_WORDS = 25
_HEADLINE_PREFERRED_WORDS = 5  # kickers and section labels ("From the news desk") are shorter
# Unknown short lines in the leading/trailing block (section names, bylines, bare credits).
_MAX_SHORT_WORDS = 6
# A line is prose if it ends like a sentence with this many words, or is simply this long.
_PROSE_MIN_WORDS_ENDED = 4
_PROSE_MIN_WORDS = 15


class LineKind(enum.Enum):
    BLANK = "blank"
    ANYWHERE = "anywhere"  # share / cookie / advertisement line: boilerplate wherever it is
    EDGE = "edge"  # a known phrase that is boilerplate in the leading/trailing block
    PROSE = "prose"
    OTHER = "other"


@dataclass(frozen=True)
class CleanedScrape:
    title: str | None
    text: str


def _core(line: str) -> str:
    return _LEAD_SYMBOLS.sub("", line).strip()


def _is_share_bar(core: str, n_words: int) -> bool:
    if n_words == 0 or n_words > _MAX_SHARE_WORDS or _SENTENCE_END.search(core):
        return False
    words = [w.strip(".,:;!?()[]|/").lower() for w in core.split()]
    words = [w for w in words if any(ch.isalnum() for ch in w)]  # not the "·" between them
    return all(w in _SHARE_WORDS for w in words) and any(w in _SHARE_STRONG for w in words)


def classify_line(line: str) -> LineKind:
    """What a single line of a scrape is, regardless of where it sits."""
    core = _core(line)
    if not core:
        return LineKind.BLANK
    n_words = word_count(core)
    if _is_share_bar(core, n_words):
        return LineKind.ANYWHERE
    if n_words <= _MAX_COOKIE_WORDS and any(p.match(core) for p in _COOKIE_PATTERNS):
        return LineKind.ANYWHERE
    if n_words <= _MAX_AD_WORDS and any(p.match(core) for p in _AD_PATTERNS):
        return LineKind.ANYWHERE
    ends_sentence = bool(_SENTENCE_END.search(core))
    link = _LINK.fullmatch(core)
    if link is not None and link.group("rest") and n_words <= _MAX_EDGE_WORDS and not ends_sentence:
        return LineKind.ANYWHERE
    if n_words <= _MAX_EDGE_WORDS and (
        any(p.match(core) for p in _EDGE_PATTERNS_STRONG)
        or (not ends_sentence and any(p.match(core) for p in _EDGE_PATTERNS_WEAK))
    ):
        return LineKind.EDGE
    if n_words >= _PROSE_MIN_WORDS or (ends_sentence and n_words >= _PROSE_MIN_WORDS_ENDED):
        return LineKind.PROSE
    return LineKind.OTHER


def is_headline(line: str) -> bool:
    """A title-length line that ends no sentence and is no byline or date."""
    core = _core(line)
    n_words = word_count(core)
    return (
        _HEADLINE_MIN_WORDS <= n_words <= _HEADLINE_MAX_WORDS
        and not _SENTENCE_END.search(core)
        and not _BYLINE_OR_DATE.match(core)
    )


def _pick_headline(lines: list[str], kinds: list[LineKind], lead_end: int) -> int | None:
    """Index of the headline: the first title-like line of 5+ words, else the longest one."""
    candidates = [
        i for i in range(lead_end) if kinds[i] is LineKind.OTHER and is_headline(lines[i])
    ]
    for i in candidates:
        if word_count(lines[i]) >= _HEADLINE_PREFERRED_WORDS:
            return i
    if not candidates:
        return None
    return max(candidates, key=lambda i: (word_count(lines[i]), -i))


def _rejoin(lines: list[str], removed: set[int]) -> str:
    """Kept lines in order; the blank lines around a removed line collapse into one gap."""
    out: list[str] = []
    after_removal = False
    for i, line in enumerate(lines):
        if i in removed:
            after_removal = True
            continue
        if not line.strip():
            if after_removal and (not out or not out[-1].strip()):
                continue
        else:
            after_removal = False
        out.append(line)
    return trim_blank_lines("\n".join(out))


@dataclass(frozen=True)
class _Reading:
    """Each line's kind, and where the story's prose starts and ends."""

    kinds: list[LineKind]
    lead_end: int  # the first prose line (0 when there is none)
    trail_start: int  # after the last prose line

    @property
    def has_prose(self) -> bool:
        return self.trail_start > 0

    def edges(self) -> list[int]:
        return [*range(self.lead_end), *range(self.trail_start, len(self.kinds))]

    def looks_scraped(self) -> bool:
        """A known boilerplate phrase before the first or after the last prose line."""
        known = (LineKind.ANYWHERE, LineKind.EDGE)
        return self.has_prose and any(self.kinds[i] in known for i in self.edges())


def _read(lines: list[str]) -> _Reading:
    kinds = [classify_line(line) for line in lines]
    prose = [i for i, kind in enumerate(kinds) if kind is LineKind.PROSE]
    if not prose:
        return _Reading(kinds, 0, 0)
    return _Reading(kinds, prose[0], prose[-1] + 1)


def _link_lists(lines: list[str], kinds: list[LineKind]) -> set[int]:
    """A link label on its own line ("Related stories", "Read more:") and the list of
    headlines under it, wherever they are."""
    removed: set[int] = set()
    for i, line in enumerate(lines):
        link = _LINK.fullmatch(_core(line))
        if link is None or link.group("rest") or kinds[i] is LineKind.PROSE:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        items: list[int] = []
        while j < len(lines) and _LIST_ITEM.match(lines[j]) and kinds[j] is not LineKind.PROSE:
            items.append(j)
            j += 1
        if items:
            removed.update([i, *items])
    return removed


def _boilerplate(lines: list[str], reading: _Reading) -> set[int]:
    """What goes: share/cookie/ad lines and links anywhere; when the text looks scraped,
    edge phrases and short unknown lines before the first and after the last prose line."""
    kinds = reading.kinds
    removed = {i for i, kind in enumerate(kinds) if kind is LineKind.ANYWHERE}
    removed |= _link_lists(lines, kinds)
    if reading.looks_scraped():
        for i in reading.edges():
            if kinds[i] is LineKind.EDGE or (
                kinds[i] is LineKind.OTHER and word_count(_core(lines[i])) <= _MAX_SHORT_WORDS
            ):
                removed.add(i)
    return removed


def drop_boilerplate(lines: list[str]) -> list[str]:
    """The lines of a page's extracted text (one paragraph a line, as trafilatura gives an
    HTML page's) that are not boilerplate; kept lines are unchanged."""
    removed = _boilerplate(lines, _read(lines))
    return [line for i, line in enumerate(lines) if i not in removed]


def clean_scrape(text: str) -> CleanedScrape | None:
    """The story and its headline if ``text`` looks like a page scrape, else None (leave it be).

    It looks like a scrape when a known boilerplate phrase sits before the first or after the
    last prose line. Text is otherwise kept byte for byte.
    """
    lines = text.split("\n")
    reading = _read(lines)
    if not reading.looks_scraped():
        return None
    removed = _boilerplate(lines, reading)
    headline = _pick_headline(lines, reading.kinds, reading.lead_end)
    title = None
    if headline is not None:
        removed.add(headline)
        title = lines[headline].strip()
    body = _rejoin(lines, removed)
    if not body:
        return None
    return CleanedScrape(title=title, text=body)
