"""The sentence shown in bold: the ranking's evidence (the question's rare words and the
sentence's vector), a sentence that only restates the question losing, headings never."""

from __future__ import annotations

import numpy as np

from retrieval.search.highlight import Candidate, answer_sentence, candidates_of
from retrieval.text.analyzer import Analyzer
from retrieval.text.passage_sentences import split_sentences


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_sentence_closest_in_meaning_wins_between_equal_word_matches() -> None:
    question = _unit(1.0, 0.0)
    near = Candidate(0, 10, ("super", "bowl", "denver"), _unit(0.9, 0.1))
    far = Candidate(11, 20, ("super", "bowl", "record"), _unit(0.1, 0.9))
    idf = {"super": 1.0, "bowl": 1.0}.__getitem__
    assert answer_sentence([far, near], ["super", "bowl"], idf, question) == (0, 10)


def test_a_sentence_restating_the_question_loses_to_one_adding_content() -> None:
    idf = {"super": 1.0, "bowl": 1.0, "won": 2.0}.__getitem__
    restates = Candidate(0, 10, ("super", "bowl", "won"), None)
    answers = Candidate(11, 30, ("won", "denver", "bronco", "super"), None)
    assert answer_sentence([restates, answers], ["super", "bowl", "won"], idf, None) == (11, 30)


def test_headings_are_not_candidates_and_are_cut_from_sentences() -> None:
    text = "## Super Bowl 50\n\nThe Broncos won Super Bowl 50.\n## Records\nRecords fell."
    [sentences] = split_sentences([(text, 0, len(text))], Analyzer().tokens)
    found = candidates_of(text, sentences, None, Analyzer().tokens)
    shown = [text[c.start : c.end] for c in found]
    assert shown == ["The Broncos won Super Bowl 50.", "Records fell."]
    assert found[1].words == ("record", "fell")


def test_a_who_question_prefers_the_sentence_with_a_name_it_does_not_hold() -> None:
    text = "The final was played last night. Denver beat Carolina in the final."
    idf = {"final": 1.0, "play": 1.0}.__getitem__
    first = Candidate(0, 32, ("final", "play", "last", "night"), None)
    second = Candidate(33, len(text), ("denver", "beat", "carolina", "final"), None)
    question = "Who won the final?"
    chosen = answer_sentence([first, second], ["final"], idf, None, None, question, text)
    assert chosen == (33, len(text))
    # Without a question asking for a name, the tie goes to the first.
    plain = answer_sentence([first, second], ["final"], idf, None, None, "The final?", text)
    assert plain == (0, 32)
