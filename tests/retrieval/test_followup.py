"""How much a follow-up leans on the earlier questions: read from its own form only."""

from __future__ import annotations

import pytest

from retrieval.search.followup import (
    ANAPHORA_ONLY,
    ANAPHORA_WITH_SUBJECT,
    NO_WORDS,
    WHAT_ABOUT,
    FollowUpContext,
    context_need,
    earlier_text,
)

SUBJECTS = {"kerry", "ferry", "oxygen"}


def need(question: str, content: list[str]) -> float:
    return context_need(question, content, lambda word: word in SUBJECTS)


@pytest.mark.parametrize(
    ("question", "content", "expected"),
    [
        ("When was that?", [], NO_WORDS),
        ("Why?", [], NO_WORDS),
        ("What about Russia?", ["russia"], WHAT_ABOUT),
        ("And the ferry?", ["ferry"], WHAT_ABOUT),
        ("When did it reopen?", ["reopen"], ANAPHORA_ONLY),
        ("Did they fix the ferry?", ["fix", "ferry"], ANAPHORA_WITH_SUBJECT),
    ],
)
def test_questions_that_point_back_need_the_context(
    question: str, content: list[str], expected: float
) -> None:
    assert need(question, content) == expected


def test_a_full_question_with_its_own_subject_needs_none() -> None:
    assert need("What is the chemical symbol of oxygen?", ["chemical", "symbol", "oxygen"]) == 0
    assert need("Why did Kerry travel to Moscow for talks?", ["kerry", "travel", "moscow"]) == 0


def test_a_long_question_without_a_known_subject_is_not_a_fragment() -> None:
    # Three content words of its own: a question in its own right, even if no title names them.
    assert need("How do glaciers carve deep valleys?", ["glacier", "carve", "valley"]) == 0


def test_only_the_most_recent_questions_are_searched_with_it() -> None:
    context = FollowUpContext(questions=("first?", "second?", "third?"), cited=("a",))
    assert earlier_text(context) == "second? third?"
    assert earlier_text(context, last=1) == "third?"
