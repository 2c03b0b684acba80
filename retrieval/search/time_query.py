"""Time in questions: operators (`since:2025-09-01`), phrases ("yesterday", "in March",
"on 2 September 2025") and words asking for the current state ("latest", "still").

Phrases are resolved against the time the question is asked, in that time's zone, and taken
out of the text that is searched: the window carries their meaning, and words such as "week"
or "yesterday" would otherwise be matched as topic words.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from retrieval.dates import TimeWindow, parse_date
from retrieval.errors import TimeOperatorError

_DAY = dt.timedelta(days=1)
_WEEKDAYS = [name.lower() for name in calendar.day_name]
# Full month names, and short ones only beside a number ("2 Sep", "Sep 2025"): "mar" or
# "dec" alone are words too. "may" is a month only capitalized ("since May").
_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_SHORT_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_abbr) if name} | {
    "sept": 9
}
_FULL_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
_MONTH_NAME = rf"(?:{_FULL_MONTHS})"
_ANY_MONTH = rf"(?:{_FULL_MONTHS}|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?"

_OPERATOR = re.compile(r"(?<!\S)(since|after|before|until|on):(\S+)", re.IGNORECASE)
# An explicit day: ISO, "2 September 2025", "2nd of Sep", "September 2, 2025", "Sep 2".
_EXPLICIT_DAY = (
    r"(?:\d{4}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_ANY_MONTH}(?:,?\s+\d{{4}})?"
    rf"|{_ANY_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_YEAR = r"(?:19|20)\d{2}"
_MONTH_YEAR = rf"(?:{_MONTH_NAME}(?:\s+{_YEAR})?|{_ANY_MONTH}\s+{_YEAR})"
_PHRASE = re.compile(
    r"(?<![\w-])(?:"
    rf"(?P<prep>on|since|before|after|from|until|in)?\s*(?P<day>{_EXPLICIT_DAY})"
    # A weekday is a day when a preposition or "last" says so, or when nothing follows it
    # ("What happened Tuesday?"); "Sunday trains" or "Monday's meeting" name no window.
    rf"|(?:(?P<wprep>on|since|before|until|last)\s+|(?:last\s+))?(?P<weekday>{_WEEKDAY})"
    r"(?(wprep)|(?=\s*(?:[?.!,;]|$)))"
    r"|(?P<rel>today|yesterday|this\s+week|last\s+week|past\s+week|last\s+weekend"
    r"|this\s+month|last\s+month"
    r"|this\s+year|last\s+year|(?:in\s+the\s+)?(?:past|last)\s+(?P<n>\d{1,3})\s+days)"
    rf"|(?P<mprep>in|since|before|during)\s+(?P<month>{_MONTH_YEAR})"
    rf"|(?P<yprep>in|since|before|during)\s+(?P<year>{_YEAR})"
    r")(?![\w-])",
    re.IGNORECASE,
)
# Questions that ask for the current state of things prefer newer evidence.
_RECENCY = re.compile(
    r"(?<!\w)(?:latest|newest|most\s+recent(?:ly)?|recent(?:ly)?|now|current(?:ly)?|still"
    r"|new(?!\s+(?-i:[A-Z]))|so\s+far|any\s+updates?|updates?\s+on|today|this\s+week|as\s+of)(?!\w)",
    re.IGNORECASE,
)


# Words that ask about a time without naming a topic: a question made only of these and a
# window ("What happened yesterday?", "Any news since Monday?") asks for the window itself.
_NO_TOPIC = frozenset(
    "a about an and any anything are articles did do does else events give going happen "
    "happened happening has have headlines in is it latest list me new news newest of on "
    "published recent reported show stories story tell the there top updates was were what "
    "whats which".split()
)


def names_no_topic(text: str) -> bool:
    """True when `text` (a question without its time phrase) has no word naming a topic."""
    return all(word in _NO_TOPIC for word in re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class TimeQuery:
    text: str  # what is searched: the question without its operators and time phrases
    window: TimeWindow | None
    phrase: str | None  # the words that set the window, as written
    recency: bool  # the question asks for the current state (latest, still, now, …)
    explicit: bool  # the window came from operators, not from words
    one_day: bool = False  # the words named a single day ("on Saturday", "yesterday")
    without_operators: str = ""  # the question with its phrases, without its operators


def parse_time_query(question: str, now: dt.datetime, *, phrases: bool = True) -> TimeQuery:
    """The time a question is about, as of `now` (aware; its zone is the asker's). Without
    `phrases` only operators count (for collections that hold no dated article, where "in
    1998" is about the events, not about when articles were written)."""
    window, text, explicit = _operators(question, now)
    without_operators = " ".join(text.split())
    phrase: str | None = None
    one_day = False
    if phrases:
        match = _PHRASE.search(text)
        resolved = _resolve(match, now) if match is not None else None
        if match is not None and resolved is not None:
            phrase = match.group(0).strip()
            one_day = _is_one_day(resolved)
            window = resolved if window is None else window.intersect(resolved)
            text = text[: match.start()] + " " + text[match.end() :]
    recency = _RECENCY.search(question) is not None
    text = " ".join(text.split())
    return TimeQuery(text, window, phrase, recency, explicit, one_day, without_operators)


def with_next_day(window: TimeWindow) -> TimeWindow:
    """A day's window widened to the morning after: what happened on a day is mostly
    reported that day or the next (match reports, results, overnight events)."""
    if window.before is None:
        return window
    return TimeWindow(window.since, window.before + _DAY)


def _is_one_day(window: TimeWindow) -> bool:
    return (
        window.since is not None
        and window.before is not None
        and window.before - window.since == _DAY
    )


def _operators(question: str, now: dt.datetime) -> tuple[TimeWindow | None, str, bool]:
    window: TimeWindow | None = None
    for match in _OPERATOR.finditer(question):
        name, value = match.group(1).lower(), match.group(2)
        day = parse_date(value)
        if day is None:
            raise TimeOperatorError(f"{name}:{value} is not a date; write it as {name}:2025-09-01")
        start = _day_start(day.astimezone(now.tzinfo) if _has_time(value) else _local(day, now))
        if name in ("since", "after"):
            part = TimeWindow(since=start + (_DAY if name == "after" else dt.timedelta()))
        elif name == "before":
            part = TimeWindow(before=start)
        elif name == "until":
            part = TimeWindow(before=start + _DAY)
        else:
            part = TimeWindow(start, start + _DAY)
        window = part if window is None else window.intersect(part)
    return window, _OPERATOR.sub(" ", question), window is not None


def _resolve(match: re.Match[str], now: dt.datetime) -> TimeWindow | None:
    today = _day_start(now)
    groups = match.groupdict()
    if groups["day"]:
        day = _explicit_day(groups["day"], now)
        return None if day is None else _with_preposition(groups["prep"], day, day + _DAY)
    if groups["weekday"]:
        back = (today.weekday() - _WEEKDAYS.index(groups["weekday"].lower())) % 7
        day = today - back * _DAY
        return _with_preposition(groups["wprep"], day, day + _DAY)
    if groups["rel"]:
        return _relative(" ".join(groups["rel"].lower().split()), groups["n"], now, today)
    if groups["month"]:
        words = groups["month"].split()
        if words[0] == "may" and groups["month"][0] != "M":
            return None  # "in may …": the verb
        month = _month_number(words[0])
        year = int(words[1]) if len(words) > 1 else _latest_year_of(month, today)
        start = today.replace(year=year, month=month, day=1)
        end = _next_month(start)
        return _with_preposition(groups["mprep"], start, end)
    year = int(groups["year"])
    start = today.replace(year=year, month=1, day=1)
    return _with_preposition(groups["yprep"], start, start.replace(year=year + 1))


def _relative(name: str, days: str | None, now: dt.datetime, today: dt.datetime) -> TimeWindow:
    monday = today - today.weekday() * _DAY
    first = today.replace(day=1)
    end = today + _DAY
    if name == "today":
        return TimeWindow(today, end)
    if name == "yesterday":
        return TimeWindow(today - _DAY, today)
    if name == "this week":
        # The calendar week or the seven days before today, whichever began first: "this
        # week" on a Monday still means the days just past.
        return TimeWindow(min(monday, today - 7 * _DAY), end)
    if name == "last weekend":
        saturday = today - ((today.weekday() - 5) % 7 or 7) * _DAY
        return TimeWindow(saturday, saturday + 2 * _DAY)
    if name in ("last week", "past week"):
        if name == "past week":
            return TimeWindow(today - 7 * _DAY, end)
        return TimeWindow(monday - 7 * _DAY, monday)
    if name == "this month":
        return TimeWindow(first, end)
    if name == "last month":
        return TimeWindow(_previous_month(first), first)
    if name == "this year":
        return TimeWindow(today.replace(month=1, day=1), end)
    if name == "last year":
        start = today.replace(year=today.year - 1, month=1, day=1)
        return TimeWindow(start, start.replace(year=today.year))
    return TimeWindow(today - int(days or 0) * _DAY, end)  # past/last N days


def _with_preposition(prep: str | None, start: dt.datetime, end: dt.datetime) -> TimeWindow:
    prep = (prep or "").lower()
    if prep in ("since", "from", "after"):
        return TimeWindow(since=end if prep == "after" else start)
    if prep in ("before", "until"):
        return TimeWindow(before=start if prep == "before" else end)
    return TimeWindow(start, end)


def _explicit_day(text: str, now: dt.datetime) -> dt.datetime | None:
    """The day named, in the asker's zone; a day without a year is its latest one not after
    `now` ("on 2 Sep" asked in March 2026 is 2 Sep 2025)."""
    has_year = re.search(r"\d{4}", text) is not None
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    cleaned = re.sub(r"\bof\b", " ", cleaned, flags=re.IGNORECASE)
    if not has_year:
        cleaned = f"{cleaned} {now.year}"
    parsed = parse_date(cleaned)
    if parsed is None:
        return None
    day = _day_start(now).replace(year=parsed.year, month=parsed.month, day=parsed.day)
    if not has_year and day > now:
        day = day.replace(year=day.year - 1)
    return day


def _month_number(word: str) -> int:
    word = word.lower().rstrip(".")
    return _MONTHS.get(word) or _SHORT_MONTHS[word]


def _latest_year_of(month: int, today: dt.datetime) -> int:
    return today.year if month <= today.month else today.year - 1


def _next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def _previous_month(first: dt.datetime) -> dt.datetime:
    return (first - _DAY).replace(day=1)


def _day_start(value: dt.datetime) -> dt.datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _local(day: dt.datetime, now: dt.datetime) -> dt.datetime:
    """A date written without a time is that day where the asker is."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)


def _has_time(value: str) -> bool:
    return "T" in value or ":" in value
