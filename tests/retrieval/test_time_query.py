"""Time phrases and operators read against the moment asked (Thursday 4 September 2025)."""

from __future__ import annotations

import datetime as dt

import pytest

from retrieval.dates import TimeWindow
from retrieval.search.time_query import names_no_topic, parse_time_query

NOW = dt.datetime(2025, 9, 4, 15, 0, tzinfo=dt.UTC)  # a Thursday


def _day(month: int, day: int, year: int = 2025) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("question", "since", "before", "rest"),
    [
        ("What happened today?", _day(9, 4), _day(9, 5), "What happened ?"),
        ("What happened yesterday?", _day(9, 3), _day(9, 4), "What happened ?"),
        ("rail strike this week", _day(8, 28), _day(9, 5), "rail strike"),
        ("rail strike last week", _day(8, 25), _day(9, 1), "rail strike"),
        ("What happened on Tuesday?", _day(9, 2), _day(9, 3), "What happened ?"),
        ("What happened Tuesday?", _day(9, 2), _day(9, 3), "What happened ?"),
        ("scores last Saturday", _day(8, 30), _day(8, 31), "scores"),
        ("What happened last weekend?", _day(8, 30), _day(9, 1), "What happened ?"),
        ("What happened on 2 September 2025?", _day(9, 2), _day(9, 3), "What happened ?"),
        ("Who won on Sep 2?", _day(9, 2), _day(9, 3), "Who won ?"),
        ("storms on 14th of December", _day(12, 14, 2024), _day(12, 15, 2024), "storms"),
        ("What did the council do in March?", _day(3, 1), _day(4, 1), "What did the council do ?"),
        ("the council in November", _day(11, 1, 2024), _day(12, 1, 2024), "the council"),
        ("budget news in 2024", _day(1, 1, 2024), _day(1, 1), "budget news"),
        ("prices since May", _day(5, 1), None, "prices"),
        ("prices before 2025", None, _day(1, 1), "prices"),
        ("water since:2025-09-01 before:2025-09-03", _day(9, 1), _day(9, 3), "water"),
        ("water on:2025-09-02", _day(9, 2), _day(9, 3), "water"),
        ("water until:2025-09-02", None, _day(9, 3), "water"),
    ],
)  # fmt: skip
def test_windows(
    question: str, since: dt.datetime | None, before: dt.datetime | None, rest: str
) -> None:
    query = parse_time_query(question, NOW)
    assert query.window == TimeWindow(since, before)
    assert query.text == rest


@pytest.mark.parametrize(
    "question",
    [
        "What may happen to the budget?",  # "may": the verb
        "Who wrote the March on Washington speech?",  # a month as a name, no preposition
        "What is the capital of France?",
        "Which team won the 2024 final?",  # a year, not "in 2024"
        "Which station loses its Sunday trains?",  # a weekday naming trains, not a day
        "What did Monday's meeting decide?",
    ],
)
def test_no_window(question: str) -> None:
    assert parse_time_query(question, NOW).window is None


def test_phrases_off_keeps_only_operators() -> None:
    assert parse_time_query("events in 1998", NOW, phrases=False).window is None
    query = parse_time_query("events in 1998 since:1998-01-01", NOW, phrases=False)
    assert query.window == TimeWindow(_day(1, 1, 1998), None) and query.explicit


@pytest.mark.parametrize(
    ("question", "recency"),
    [
        ("What is the latest on the strike?", True),
        ("Is the road still closed?", True),
        ("Who is the current mayor?", True),
        ("Who opened the bridge in 1932?", False),
        ("Renewal of the library lease", False),  # "new" only as a whole word
        ("What did the New York office announce?", False),  # a name, not "new"
        ("Which new stadium opens in spring?", True),
    ],
)
def test_recency_words(question: str, recency: bool) -> None:
    assert parse_time_query(question, NOW).recency is recency


def test_operator_dates_are_days_where_the_asker_is() -> None:
    berlin = NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))
    window = parse_time_query("on:2025-09-02", berlin).window
    assert window is not None and window.since is not None
    assert window.since.isoformat() == "2025-09-02T00:00:00+02:00"


def test_names_no_topic() -> None:
    assert names_no_topic("What happened ?")
    assert names_no_topic("Any news")
    assert not names_no_topic("What happened to the bridge")
