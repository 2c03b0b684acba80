"""The other-language note fires on questions in other languages and never on the shared
sets' English questions, short questions or names (the rates are in docs/benchmarks.md)."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.text.language import language_name, other_language
from tests.factories import EVAL, REPO

OTHER = Path(__file__).parent / "data" / "other_language_questions.txt"


def _english_questions() -> list[str]:
    files = [
        EVAL / "squad" / "queries_full.jsonl",
        EVAL / "squad" / "queries_unanswerable.jsonl",
        EVAL / "cranfield" / "queries.jsonl",
        EVAL / "out_of_domain" / "cranfield_questions_for_squad.jsonl",
        REPO / "bench" / "news" / "queries.jsonl",
    ]
    return [
        json.loads(line)["question"]
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_no_note_on_the_english_questions_of_the_shared_sets() -> None:
    questions = _english_questions()
    assert len(questions) > 3500
    flagged = [q for q in questions if other_language(q, "en") is not None]
    assert flagged == []  # measured: 0 of 3,557


def test_the_note_on_questions_in_other_languages() -> None:
    questions = [q for q in OTHER.read_text(encoding="utf-8").splitlines() if q.strip()]
    found = {q: other_language(q, "en") for q in questions}
    # Measured: 43 of 45 (an Italian and a Swedish four-word question are missed).
    assert sum(code is not None for code in found.values()) >= 40, found
    assert found["Qui a gagné le Super Bowl 50 ?"] == "fr"
    assert found["Что такое простое число?"] == "ru"


def test_no_note_on_short_questions_names_or_the_model_s_own_language() -> None:
    for question in ("Kerry Lavrov", "Beyoncé", "Warsaw", "São Paulo", "clear", "what is it?"):
        assert other_language(question, "en") is None, question
    assert other_language("Qui a gagné le Super Bowl 50 ?", "fr") is None


def test_languages_are_named_in_english_or_not_at_all() -> None:
    from retrieval.third_party import load_language_identifier

    codes = [code for code, _ in load_language_identifier().rank("Quelle heure est-il ?")]
    names = {code: language_name(code) for code in codes}
    assert sum(name is not None for name in names.values()) > 90
    assert all(name != code for code, name in names.items())  # never a bare code
    assert (names["la"], names["fr"], language_name("zz-not-a-code")) == ("Latin", "French", None)


def test_the_note_names_the_language_or_says_it_is_not_the_model_s() -> None:
    from retrieval.search.results import SearchResult, language_note

    def note(code: str) -> str | None:
        return language_note(
            SearchResult(
                question="q", mode="hybrid", hits=[], abstained=True, confidence=0.0,
                question_language=code, searched_language="en",
            )
        )  # fmt: skip

    assert note("fr") == (
        "The question looks like French; the collection is searched in English, "
        "so asking in English finds more."
    )
    assert str(note("zz-not-a-code")).startswith("The question does not look like English;")
