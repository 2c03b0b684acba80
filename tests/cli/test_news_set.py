"""The news dev set (bench/news) is well-formed, and `newsdesk eval` asks each question as of
its `asked_at`: articles published later are hidden with time-awareness, seen without it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from retrieval.documents import Article
from retrieval.duplicates import dedupe
from retrieval.engine import Engine
from retrieval.errors import QueriesFileError
from retrieval.evaluation import evaluate_as_of, load_queries, parse_asked_at
from retrieval.loaders import load_file
from retrieval.search.results import SearchResult
from tests.cli.helpers import Workspace
from tests.factories import REPO

NEWS = REPO / "bench" / "news"
UTC = dt.UTC
LONG_WORDS = (600, 1000)  # a long article: what picking the right passage is measured on


@pytest.fixture(scope="module")
def news_articles() -> dict[str, Article]:
    return {a.id: a for a in load_file(NEWS / "articles.jsonl", max_bytes=10_000_000)}


def test_articles_are_dated_sourced_and_news_sized(news_articles: dict[str, Article]) -> None:
    lines = (NEWS / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(news_articles) == len(lines) >= 40  # every line loads, ids unique
    for article in news_articles.values():
        assert article.published is not None and article.published.tzinfo is not None
        assert article.published.year == 2025, article.id
        assert article.source, article.id
        host = urlsplit(article.url or "").hostname or ""
        assert host.endswith(("example.com", "example.org")), article.id
        words = len(article.text.split())
        # Short stories, one passage each, or long ones of several passages (below).
        assert 120 <= words <= 400 or 600 <= words <= LONG_WORDS[1], (article.id, words)
    # Wire copies are near-duplicates, not the same text: every article is indexed.
    kept, duplicates = dedupe(news_articles.values())
    assert not duplicates and len(kept) == len(news_articles)
    assert len({a.url for a in news_articles.values()}) == len(news_articles)


def test_questions_cite_existing_articles_with_verbatim_answers_asked_after_them(
    news_articles: dict[str, Article],
) -> None:
    queries = load_queries([NEWS / "queries.jsonl"])
    assert len({q.qid for q in queries}) == len(queries) >= 60
    assert sum(not q.answerable for q in queries) >= 3  # off the collection: abstain
    for query in queries:
        assert query.asked_at is not None, query.qid
        assert not query.answerable or query.answers, query.qid
        for article_id in query.relevant:
            article = news_articles.get(article_id)
            assert article is not None and article.published is not None, (query.qid, article_id)
            # Verbatim (stricter than Ans@k's normalized match), in every cited article.
            assert any(a in article.text for a in query.answers), (query.qid, article_id)
            assert article.published <= query.asked_at, (query.qid, article_id)
            days = query.asked_at.astimezone(UTC).date() - article.published.astimezone(UTC).date()
            assert days.days <= 5, (query.qid, article_id)


def test_long_articles_hide_most_answers_past_their_first_half(
    news_articles: dict[str, Article],
) -> None:
    """The long articles are there to measure quoting the right passage of a long story: a
    question paraphrases one fact, and most of those facts are deep in the text, not in the
    lead paragraph a retriever would quote by default."""
    low, high = LONG_WORDS
    long = {i: a for i, a in news_articles.items() if len(a.text.split()) >= low}
    assert len(long) >= 14
    assert all(len(a.text.split()) <= high and a.text.count("\n\n") >= 10 for a in long.values())
    queries = [q for q in load_queries([NEWS / "queries.jsonl"]) if set(q.relevant) & set(long)]
    assert len(queries) >= 40 and {i for q in queries for i in q.relevant} == set(long)
    deep = 0
    for query in queries:
        assert query.relevant == (query.relevant[0],), query.qid  # one article, one fact
        article = long[query.relevant[0]]
        assert article.published is not None and query.asked_at is not None
        days = query.asked_at.astimezone(UTC).date() - article.published.astimezone(UTC).date()
        assert days.days <= 3, query.qid  # asked while the story is news
        start = min(p for a in query.answers if (p := article.text.find(a)) >= 0)
        deep += start >= len(article.text) / 2
    assert deep * 3 >= 2 * len(queries), (deep, len(queries))


def test_asked_at_dates_mean_the_end_of_the_day_in_utc(tmp_path: Path) -> None:
    assert parse_asked_at("2025-04-09") == dt.datetime(2025, 4, 9, 23, 59, 59, 999999, tzinfo=UTC)
    moment = parse_asked_at("2025-04-08T20:00:00+01:00")
    assert moment == dt.datetime(2025, 4, 8, 19, tzinfo=UTC)
    assert moment is not None and moment.utcoffset() == dt.timedelta(hours=1)
    assert parse_asked_at("2025-04-08T20:00") == dt.datetime(2025, 4, 8, 20, tzinfo=UTC)
    assert parse_asked_at(None) is None
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"qid": "1", "question": "q?", "asked_at": "yesterday"}\n')
    with pytest.raises(QueriesFileError, match=r"q\.jsonl:1.*asked_at 'yesterday'"):
        load_queries([bad])


# -- hiding what was published after the question ------------------------------------------

MONDAY = dt.datetime(2025, 4, 7, 9, tzinfo=UTC)
THURSDAY = dt.datetime(2025, 4, 10, 18, tzinfo=UTC)
BRIDGE = [
    Article(
        id="bridge-closed",
        title="Harbour bridge closed after crack found",
        text="The harbour bridge in Sandport was closed on Monday after inspectors found a "
        "crack in a steel bearing. Drivers are diverted through Mill Lane.",
        published=MONDAY,
    ),
    Article(
        id="bridge-reopens",
        title="Harbour bridge reopens after load test",
        text="The harbour bridge in Sandport reopened on Thursday after passing a load test. "
        "Lorries over 7.5 tonnes stay banned until the bearing is replaced in summer.",
        published=THURSDAY,
    ),
    Article(
        id="regatta",
        title="Rowing regatta on the river",
        text="More than 400 crews raced at the regatta on the river on Sunday in warm sunshine.",
        published=MONDAY - dt.timedelta(days=3),
    ),
]
# Asked on Tuesday: only Monday's story can be seen. The probe cites Thursday's article on
# purpose: with hiding it cannot be found; without it, it is the obvious answer.
QUERIES = [
    {
        "qid": "monday",
        "question": "Why was the harbour bridge in Sandport closed?",
        "relevant_article_ids": ["bridge-closed"],
        "answers": ["crack in a steel bearing"],
        "asked_at": "2025-04-08",
    },
    {
        "qid": "probe",
        "question": (
            "Which lorries are banned from the reopened harbour bridge after the load test?"
        ),
        "relevant_article_ids": ["bridge-reopens"],
        "answers": ["Lorries over 7.5 tonnes"],
        "asked_at": "2025-04-08",
    },
]


def _write_set(folder: Path) -> tuple[Path, Path]:
    articles, queries = folder / "articles.jsonl", folder / "queries.jsonl"
    rows = [
        {"id": a.id, "title": a.title, "text": a.text, "published": a.published.isoformat()}
        for a in BRIDGE
        if a.published is not None
    ]
    articles.write_text("".join(json.dumps(r) + "\n" for r in rows))
    queries.write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    return articles, queries


def test_time_aware_evaluation_hides_later_articles(engine: Engine, tmp_path: Path) -> None:
    engine.add(BRIDGE)
    _, path = _write_set(tmp_path)
    queries = load_queries([path])
    asked: list[dt.datetime | None] = []

    def search(question: str, at: dt.datetime | None, *, aware: bool) -> SearchResult:
        asked.append(at)
        return engine.search(question, k=10, abstain=False, at=at, time_aware=aware)

    aware = evaluate_as_of(
        queries,
        lambda q, at: search(q, at, aware=True),
        time_aware=True,
    )
    assert asked == [q.asked_at for q in queries]
    ignore = evaluate_as_of(
        queries,
        lambda q, at: search(q, at, aware=False),
        time_aware=False,
    )
    assert asked[2:] == [None, None]
    # Aware: Monday's story answers; Thursday's is unseen, so the probe finds nothing.
    assert aware.sums["hit@10"] == 1 and aware.sums["ans@5"] == 1
    assert aware.as_json()["time"] == "aware" and aware.dated == 2
    # Ignoring time, Thursday's article is found for the probe as well.
    assert ignore.sums["hit@10"] == 2 and ignore.sums["ans@5"] == 2
    assert ignore.as_json()["time"] == "ignore"


def test_newsdesk_eval_reports_both_rows(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.articles.mkdir()
    articles, queries = _write_set(tmp_path)
    out = ws.run("eval", "--articles", str(articles), "--queries", str(queries), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"aware", "ignore"}  # both by default: the queries are dated
    assert data["aware"]["hit@10"] == 0.5 and data["ignore"]["hit@10"] == 1.0
    assert data["aware"]["dated"] == 2
    one = ws.run("eval", "--articles", str(articles), "--queries", str(queries), "--time", "aware")
    assert one.returncode == 0, one.stderr
    assert " aware " in one.stdout and "ignore" not in one.stdout
