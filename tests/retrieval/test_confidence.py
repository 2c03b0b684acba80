"""Honest answers: vague questions, support that holds on small collections, the page cut at a
clear drop in relevance, and labels that never rise down the page."""

from __future__ import annotations

import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.search.confidence import (
    idf_trust,
    labels,
    mixed_share,
    page_length,
    plain_share,
    question_words,
)
from retrieval.settings import RetrievalSettings
from retrieval.text.analyzer import Analyzer
from tests.factories import SAMPLE_ARTICLES

ANALYZER = Analyzer()


def _vague(question: str, subjects: frozenset[str] = frozenset()) -> bool:
    tokens = ANALYZER.tokens([question])[0]
    return question_words(question, tokens, ANALYZER, subjects.__contains__).vague


@pytest.mark.parametrize(
    "question",
    ["what is it?", "What happened?", "Tell me about it", "clear", "who is he?", "why?", "news"],
)
def test_questions_without_a_specific_word_are_vague(question: str) -> None:
    assert _vague(question)


@pytest.mark.parametrize(
    "question",
    [
        "Why was Kestrel Bridge closed?",
        "What are spraints?",  # one content word, asked as a question
        "Brexit",  # a bare word written as a name
        "NATO",
        "2027",
    ],
)
def test_questions_naming_something_are_not_vague(question: str) -> None:
    assert not _vague(question)


def test_a_bare_word_is_specific_when_an_article_is_about_it() -> None:
    [oxygen] = ANALYZER.tokens(["oxygen"])[0]
    assert _vague("oxygen")
    assert not _vague("oxygen", frozenset({oxygen}))


def test_idf_weighting_is_trusted_more_on_larger_collections() -> None:
    assert idf_trust(0) == 0.0
    assert 0.5 < idf_trust(7) < idf_trust(100) < idf_trust(2000) < 1.0
    # Seven passages: the plain share counts for much more than on two thousand.
    small, large = mixed_share(0.2, 1.0, 7), mixed_share(0.2, 1.0, 2000)
    assert small > 0.4 and large < 0.21
    assert mixed_share(0.2, 1.0, 0) == 1.0
    assert plain_share(["kestrel", "bridg", "close"], ["bridg", "kestrel", "crack"]) == 2 / 3
    assert plain_share([], ["a"]) == 0.0


def test_the_page_stops_at_a_clear_drop() -> None:
    assert page_length([]) == 0
    assert page_length([0.7, 0.65, 0.6, 0.58, 0.55]) == 5  # an even slope: all shown
    assert page_length([0.7, 0.66, 0.3, 0.29, 0.28]) == 2  # a cliff after the second
    assert page_length([0.7, 0.5, 0.45, 0.44, 0.43]) == 1  # the rest well under the first
    assert page_length([0.0, 0.0]) == 2  # nothing to compare against: no cut


def test_labels_never_rise_down_the_page() -> None:
    assert labels([0.3, 0.6, 0.4]) == ["partial match", "partial match", "partial match"]
    assert labels([0.6, 0.4, 0.7, 0.2]) == [
        "strong match",
        "good match",
        "good match",
        "partial match",
    ]


def test_a_vague_question_abstains_with_its_reason(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("What is it?")
    assert result.abstained and result.hits == [] and result.reason == "vague"
    assert result.as_json()["reason"] == "vague"
    # With abstention off the question is searched all the same.
    assert not engine.search("What is it?", abstain=False).abstained


def test_answers_carry_labels_support_and_the_count_left_out(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("How many eggs does the queen bee lay?")
    assert not result.abstained and result.reason is None
    data = result.as_json()
    shown = [hit["label"] for hit in data["hits"]]
    assert shown and all(label is not None for label in shown)
    order = ["partial match", "good match", "strong match"]
    assert [order.index(label) for label in shown if label] == sorted(
        (order.index(label) for label in shown if label), reverse=True
    )
    bars = [hit.relevance for hit in result.hits]
    assert bars == sorted(bars, reverse=True)
    assert data["left_out"] == result.left_out >= 0
    assert len(result.hits) + result.left_out <= 5
    if result.left_out:
        assert result.has_more
        rest = engine.search(result.question, offset=len(result.hits), abstain=False)
        assert rest.hits  # "More results" still shows what the page left out


def test_no_match_names_its_reason(settings: RetrievalSettings, embedder: HashingEmbedder) -> None:
    engine = Engine(settings.model_copy(update={"abstain_threshold": 1.0}), embedder).open()
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("How many eggs does the queen bee lay?")
    assert result.abstained and result.reason == "no_match"
