"""Honest answers through the real `newsdesk` entry point: one question limit, scores that
stay within 0..1, Markdown headings never quoted with their marks nor in bold, and a note for
a question in another language than the model's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.helpers import Workspace
from tests.factories import REUTERS

SECTIONS = """---
title: Harbour report
---
# Harbour report

## Harbour ferry timetable changes

The harbour ferry timetable changes from Monday. The first ferry now leaves at 6:15 and the
last at 23:40, the operator Bayline said.

## Harbour ferry fares

Fares rise by ten pence on the harbour ferry in June.
"""


@pytest.fixture
def built(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.articles.mkdir()
    shutil.copy(REUTERS, ws.articles / REUTERS.name)
    (ws.articles / "harbour.md").write_text(SECTIONS, encoding="utf-8")
    out = ws.run("index", "rebuild")
    assert out.returncode == 0, out.stderr
    return ws


def test_a_5000_word_question_is_refused_in_one_line_with_exit_2(built: Workspace) -> None:
    question = " ".join(["Kerry", "Moscow", "talks", "progress"] * 1250)
    out = built.run("ask", question)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == ["error: Please keep questions under 500 characters."]
    # The same limit through the terminal chat: one line, and the chat goes on.
    chat = built.run("chat", input=question + "\nWhat did Kerry want?\n")
    assert chat.returncode == 0, chat.stderr
    assert "Please keep questions under 500 characters." in chat.stdout
    assert "Kerry" in chat.stdout.split("Please keep questions under 500 characters.", 1)[1]


def test_scores_and_confidence_never_exceed_1(built: Workspace) -> None:
    # Repeated words were counted once in the best possible BM25 score and every time in
    # the score itself: this question scored 22 with a confidence of 10.
    for question in (" ".join(["Kerry"] * 80), " ".join(["ferry", "harbour"] * 30)):
        out = built.run("ask", question, "--json", "--no-abstain")
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["hits"]
        assert 0 <= result["confidence"] <= 1, result["confidence"]
        assert all(0 <= hit["score"] <= 1 for hit in result["hits"]), result["hits"]


def test_markdown_headings_are_never_quoted_with_their_marks_nor_bold(built: Workspace) -> None:
    out = built.run("ask", "When does the harbour ferry timetable change?", "--json", "-k", "3")
    assert out.returncode == 0, out.stderr
    hits = [h for h in json.loads(out.stdout)["hits"] if h["article_id"] == "harbour"]
    assert hits
    for hit in hits:
        assert "#" not in hit["highlight"]
        assert not hit["excerpt"].lstrip().startswith("#")
        assert not hit["excerpt"].rstrip().splitlines()[-1].startswith("#")
    assert "Monday" in hits[0]["highlight"]
    text = built.run("ask", "When does the harbour ferry timetable change?", "-k", "3")
    assert text.returncode == 0, text.stderr
    assert "#" not in text.stdout.split("Harbour report", 1)[1]


def test_a_question_in_another_language_gets_a_note(built: Workspace) -> None:
    french = "Qu'est-ce que Kerry voulait obtenir des pourparlers de Moscou ?"
    out = built.run("ask", french, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["question_language"] == "fr"
    assert "searched in English" in result["language_note"]
    text = built.run("ask", french)
    assert "The question looks like French; the collection is searched in English" in text.stdout
    chat = built.run("chat", input=french + "\n")
    assert "searched in English" in chat.stdout
    # Not on English questions, short ones or names.
    for english in ("What did Kerry want from the Moscow talks?", "Kerry Lavrov", "Beyoncé"):
        plain = json.loads(built.run("ask", english, "--json", "--no-abstain").stdout)
        assert plain["question_language"] is None and plain["language_note"] is None


def test_eval_refuses_an_over_long_question_before_indexing(built: Workspace) -> None:
    articles = built.root / "set.jsonl"
    articles.write_text(json.dumps({"id": "a", "title": "A", "text": "Kerry met Lavrov."}) + "\n")
    queries = built.root / "queries.jsonl"
    rows = [
        {"qid": "ok", "question": "Who met Lavrov?", "relevant_article_ids": ["a"]},
        {"qid": "long", "question": "Lavrov " * 1000, "relevant_article_ids": ["a"]},
    ]
    queries.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = built.run("eval", "--articles", str(articles), "--queries", str(queries))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: question long: Please keep questions under 500 characters."
    ]
