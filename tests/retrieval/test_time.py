"""Time in questions: windows filter inside both retrievers, "latest" prefers newer relevant
evidence (never fresh off-topic text), a question made only of a time lists that time's
articles, an empty window says so, and answering as of a past moment hides later articles."""

from __future__ import annotations

import datetime as dt

import pytest

from retrieval.dates import TimeWindow
from retrieval.documents import Article
from retrieval.engine import Engine
from retrieval.errors import TimeOperatorError
from retrieval.settings import RetrievalSettings
from tests.factories import SAMPLE_ARTICLES
from tests.retrieval.backends import BACKENDS, on_backend


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, settings: RetrievalSettings) -> RetrievalSettings:
    return on_backend(request, settings)


UTC = dt.UTC
# Monday 1 to Thursday 4 September 2025.
DAYS = [dt.datetime(2025, 9, d, 9, 30, tzinfo=UTC) for d in (1, 2, 3, 4)]
THURSDAY_EVENING = dt.datetime(2025, 9, 4, 20, 0, tzinfo=UTC)

WATER_STORY = [
    (
        "Boil-water notice issued for Millbrook after contamination found",
        "Millbrook's water utility told residents to boil tap water before drinking it after "
        "routine tests found E. coli bacteria in the northern reservoir. The boil-water notice "
        "covers about 12,000 homes. Bottled water is handed out at the town hall.",
    ),
    (
        "Millbrook water contamination: schools close as testing widens",
        "Three schools in Millbrook closed on Tuesday while the water utility widened its testing "
        "of the northern reservoir. The boil-water notice stays in place; officials said a "
        "cracked pipe near the pumping station may have let surface water in.",
    ),
    (
        "Millbrook water contamination traced to cracked pipe",
        "Engineers confirmed that a cracked pipe at the pumping station caused the Millbrook "
        "water contamination. Repairs began overnight and the utility flushed the mains; the "
        "boil-water notice remains until two clean test rounds.",
    ),
    (
        "Millbrook boil-water notice lifted after two clean tests",
        "The Millbrook water utility lifted the boil-water notice on Thursday after two rounds "
        "of clean tests from the northern reservoir. Residents can drink tap water again; "
        "schools reopen on Friday after the contamination scare.",
    ),
]
FRESH_OFF_TOPIC = Article(
    id="harvest",
    title="Pumpkin growers expect a record harvest",
    text="Pumpkin growers in the valley expect a record harvest after a warm, wet summer. "
    "Farm stands open next weekend with hay rides and cider.",
    published=THURSDAY_EVENING,
)


def _story() -> list[Article]:
    return [
        Article(id=f"water-{n}", title=title, text=text, published=DAYS[n])
        for n, (title, text) in enumerate(WATER_STORY)
    ]


def _dated_engine(engine: Engine, *extra: Article) -> Engine:
    # The sample articles, dated weeks before, stand for the rest of the collection.
    older = [
        Article(
            id=a.id,
            title=a.title,
            text=a.text,
            published=dt.datetime(2025, 8, 1 + n, tzinfo=UTC),
        )
        for n, a in enumerate(SAMPLE_ARTICLES)
    ]
    engine.add([*older, *_story(), *extra])
    return engine


def _articles(result: object) -> list[str]:
    return list(dict.fromkeys(h.article_id for h in result.hits))  # type: ignore[attr-defined]


def test_latest_puts_the_newest_relevant_story_first(engine: Engine) -> None:
    _dated_engine(engine, FRESH_OFF_TOPIC)
    question = "What is the latest on the Millbrook water contamination?"
    result = engine.search(question, at=THURSDAY_EVENING)
    assert result.time.recency
    assert _articles(result)[0] == "water-3"
    # Relevance first: the fresher article on another topic is not put above the story.
    assert "harvest" not in _articles(result)[:4]
    # Without the preference the story's days come in relevance order, not newest first:
    # the test above is not won by chance.
    plain = engine.search(question, at=THURSDAY_EVENING, time_aware=False)
    assert _articles(plain) != _articles(result)


def test_a_window_filters_inside_the_retrievers(engine: Engine) -> None:
    _dated_engine(engine)
    # Only Tuesday and Wednesday: both are found, though other days match better.
    since, before = DAYS[1].replace(hour=0), DAYS[3].replace(hour=0)
    window = TimeWindow(since, before)
    result = engine.search("boil-water notice contamination", window=window, at=THURSDAY_EVENING)
    assert set(_articles(result)) == {"water-1", "water-2"}
    assert result.time.window == window
    data = result.as_json()
    assert data["window"] == {"since": since.isoformat(), "before": before.isoformat()}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("water contamination since:2025-09-03", {"water-2", "water-3"}),
        ("water contamination before:2025-09-02", {"water-0"}),
        ("water contamination on:2025-09-02", {"water-1"}),
    ],
)
def test_operators(engine: Engine, question: str, expected: set[str]) -> None:
    _dated_engine(engine)
    result = engine.search(question, at=THURSDAY_EVENING)
    assert expected <= set(_articles(result))
    assert not set(_articles(result)) - expected - {a.id for a in SAMPLE_ARTICLES}
    assert all(
        h.published is not None and result.time.window.contains(h.published)  # type: ignore[union-attr]
        for h in result.hits
    )


def test_a_bad_operator_value_is_refused(engine: Engine) -> None:
    _dated_engine(engine)
    with pytest.raises(TimeOperatorError, match="since:soon is not a date"):
        engine.search("water since:soon")


@pytest.mark.parametrize(
    "question", ["What happened on 2 September 2025?", "What happened on Tuesday?"]
)
def test_a_question_that_is_only_a_day_lists_that_day(engine: Engine, question: str) -> None:
    _dated_engine(engine)
    result = engine.search(question, at=THURSDAY_EVENING)
    assert not result.abstained
    assert _articles(result) == ["water-1"]
    assert result.hits[0].start == 0  # the story's lead


def test_an_empty_window_says_so_and_names_the_newest_article_before_it(engine: Engine) -> None:
    _dated_engine(engine)
    result = engine.search("What happened on Saturday?", at=THURSDAY_EVENING)
    assert result.abstained and result.time.empty_window
    # Saturday 30 August: the newest article before it is a sample article of August.
    assert result.time.newest_before_window is not None
    assert result.time.newest_before_window < dt.datetime(2025, 8, 30, tzinfo=UTC)
    assert result.time.newest_before_title in {a.title for a in SAMPLE_ARTICLES}


def test_answering_as_of_a_past_moment_hides_later_articles(engine: Engine) -> None:
    _dated_engine(engine)
    tuesday_noon = dt.datetime(2025, 9, 2, 12, 0, tzinfo=UTC)
    result = engine.search("Millbrook boil-water notice", at=tuesday_noon)
    assert set(_articles(result)) & {"water-0", "water-1"}
    assert not set(_articles(result)) & {"water-2", "water-3"}
    assert result.time.asked_at == tuesday_noon
    # "yesterday" is the day before the moment asked, with the reports of the morning after.
    yesterday = engine.search("Millbrook water yesterday", at=tuesday_noon)
    assert set(_articles(yesterday)) == {"water-0", "water-1"}
    assert yesterday.time.window == TimeWindow(
        DAYS[0].replace(hour=0, minute=0), DAYS[2].replace(hour=0, minute=0)
    )
    # Only a time: that day's articles alone.
    listed = engine.search("What happened yesterday?", at=tuesday_noon)
    assert _articles(listed) == ["water-0"]


def test_undated_collections_read_years_as_words(engine: Engine) -> None:
    # No dates: "in 2024" is about events, not about when articles were written.
    engine.add([Article(id=a.id, title=a.title, text=a.text) for a in SAMPLE_ARTICLES])
    result = engine.search("Eurostar Channel Tunnel speed in 2024")
    assert result.time.window is None and _articles(result)[0] == "trains"


def test_dates_only_decide_between_close_articles(engine: Engine) -> None:
    """A question without time words on a dated collection: the fresher of two near-equal
    copies of a fact wins, an older but much better match still beats a fresh weak one."""
    old = Article(
        id="old",
        title="Ferry timetable changes",
        text="The harbour ferry moves to a winter timetable with sailings every forty minutes.",
        published=dt.datetime(2025, 6, 1, tzinfo=UTC),
    )
    # The same fact in other words (not a wire copy of the first, which would be grouped).
    new = Article(
        id="new",
        title="Winter sailings for the harbour ferry",
        text="From Monday, harbour ferry sailings leave every forty minutes as the winter "
        "timetable starts, the operator told passengers in a notice posted at the quay.",
        published=dt.datetime(2025, 9, 3, tzinfo=UTC),
    )
    engine.add([old, new, FRESH_OFF_TOPIC])
    result = engine.search("harbour ferry winter timetable sailings", at=THURSDAY_EVENING)
    assert _articles(result)[:2] == ["new", "old"]
    assert _articles(result)[2:] in ([], ["harvest"])
    engine.settings = engine.settings.model_copy(
        update={"freshness_weight": 0.0, "later_reports_weight": 0.0}
    )
    unweighted = engine.search("harbour ferry winter timetable sailings", at=THURSDAY_EVENING)
    assert _articles(unweighted)[:2] == ["old", "new"]  # so the date made the difference


def test_a_topic_question_whose_day_holds_nothing_is_answered_from_any_date(
    engine: Engine,
) -> None:
    """'on Saturday' in a topic question may be the day an article tells of: with nothing
    published then, the best matches from any date, and the reply says so."""
    _dated_engine(engine)
    result = engine.search("Which schools closed on Saturday?", at=THURSDAY_EVENING)
    assert not result.abstained and _articles(result)[0] == "water-1"
    assert result.time.window is None
    assert result.time.unmatched_window == TimeWindow(
        dt.datetime(2025, 8, 30, tzinfo=UTC), dt.datetime(2025, 9, 1, tzinfo=UTC)
    )
    # An operator is a demand, not a reading: its empty window stays empty.
    strict = engine.search("Which schools closed? on:2025-08-30", at=THURSDAY_EVENING)
    assert strict.abstained and strict.time.empty_window
