"""Hostile questions, through the engine and the CLI: answered or refused in one line, never a
crash, and the index is untouched. (Through Discord: tests/reliability/test_load.py.)"""

from __future__ import annotations

import json
import time

import pytest

from bot.chat import ChatSession
from bot.render import render_text
from retrieval.engine import Engine
from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from tests.cli.helpers import Workspace
from tests.reliability.conftest import HOSTILE_ARTICLE
from tests.reliability.helpers import cli_error, index_state, one_line

pytestmark = pytest.mark.timeout(120)

REFUSAL = "Ask a question with some words in it."
TOO_LONG = "Please keep questions under 500 characters."  # NEWSDESK_MAX_QUESTION_CHARS
WORDLESS = {
    "empty": "",
    "whitespace": " \n\t \u3000 ",
    "emoji": "🐝🙂🔥" * 50,
    "punctuation": "?!… — ¿¡ ### *** ```",
    "emoji and punctuation": "🙂?! ✨…",
}
# Refused, not cut: a cut question is not the one asked.
OVER_LONG = {
    "10,000 characters": ("How many eggs does the queen bee lay? " * 270)[:10_000],
    "10,000 characters without a space": "bees" * 2_500,
    "501 characters": "bees " * 100 + "b",
}
ANSWERABLE = {
    "500 characters once spaces are squeezed": " \n\t ".join(["bees"] * 100) + "!",
    "markdown": "**How many** _eggs_ does the `queen` bee lay? # heading > quote",
    "code fence": "```python\nimport os; os.system('rm -rf /')\n```\nqueen bee eggs",
    "@everyone": "@everyone @here when does the first ferry leave the harbour?",
    "role and user mentions": "<@&123456789012345678> <@987654321098765432> ferry harbour",
    "javascript link": "[click](javascript:alert(document.cookie)) ferry timetable",
    "SQL and LIKE wildcards": "'; DROP TABLE articles; -- %_\\ bees",
    "control characters": "\x00\x1b[2J\x07 queen bee eggs \u202e\u200b",
    "lone surrogate": "\ud800 queen bee eggs \udcff",
}


@pytest.mark.parametrize("question", list(WORDLESS.values()), ids=list(WORDLESS))
def test_wordless_questions_are_refused_in_one_line(seeded: Engine, question: str) -> None:
    before = index_state(seeded.index_dir)
    with pytest.raises(EmptyQuestionError) as info:
        seeded.search(question)
    assert one_line(str(info.value)) == REFUSAL
    assert index_state(seeded.index_dir) == before


@pytest.mark.parametrize("question", list(OVER_LONG.values()), ids=list(OVER_LONG))
def test_over_long_questions_are_refused_in_one_line(seeded: Engine, question: str) -> None:
    before = index_state(seeded.index_dir)
    with pytest.raises(QuestionTooLongError) as info:
        seeded.search(question)
    assert one_line(str(info.value)) == TOO_LONG
    assert index_state(seeded.index_dir) == before


@pytest.mark.parametrize("question", list(ANSWERABLE.values()), ids=list(ANSWERABLE))
def test_hostile_questions_are_answered_and_echo_safely(seeded: Engine, question: str) -> None:
    before = index_state(seeded.index_dir)
    started = time.monotonic()
    result = seeded.search(question)
    assert time.monotonic() - started < 2.0
    assert len(result.question) <= seeded.settings.max_question_chars
    result.question.encode("utf-8")  # what reaches a renderer, a log or JSON is encodable
    text = render_text(result, bold=("**", "**"))
    assert text.strip()
    assert json.loads(json.dumps(result.as_json(), ensure_ascii=False))["hits"] is not None
    for hit in result.hits:
        article = seeded.get_article(hit.article_id)
        assert article is not None and article.text[hit.start : hit.end] == hit.excerpt
    assert index_state(seeded.index_dir) == before


def test_hostile_article_text_is_quoted_verbatim(seeded: Engine) -> None:
    result = seeded.search("When does the first ferry leave the harbour?")
    top = result.hits[0]
    assert top.article_id == HOSTILE_ARTICLE.id and top.title == HOSTILE_ARTICLE.title
    assert HOSTILE_ARTICLE.text[top.start : top.end] == top.excerpt
    whole = seeded.search("everyone timetable javascript ferry harbour", k=10, abstain=False)
    quoted = " ".join(h.excerpt for h in whole.hits)
    assert "@everyone" in quoted and "javascript:alert(1)" in quoted
    assert "six in the morning" in render_text(result, bold=("**", "**"))


def test_chat_answers_or_refuses_every_hostile_question(seeded: Engine) -> None:
    session = ChatSession(seeded, seeded.settings)
    before = index_state(seeded.index_dir)
    for question in [*WORDLESS.values(), *OVER_LONG.values(), *ANSWERABLE.values()]:
        reply = session.handle(question)
        assert reply is not None  # the session goes on
        if question.strip() and not question.startswith("/"):
            assert reply in (REFUSAL, TOO_LONG) or "[1]" in reply or "No good match" in reply
    assert index_state(seeded.index_dir) == before


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("", REFUSAL),
        ("   ", REFUSAL),
        ("🐝🐝🐝", REFUSAL),
        ("?!…", REFUSAL),
        (OVER_LONG["10,000 characters"], TOO_LONG),
    ],
    ids=["empty", "spaces", "emoji", "punctuation", "10k"],
)
def test_cli_refuses_wordless_and_over_long_questions_in_one_line(
    cli: Workspace, question: str, refusal: str
) -> None:
    before = index_state(cli.index)
    assert cli_error(cli.run("ask", question), code=2) == f"error: {refusal}"
    assert index_state(cli.index) == before


@pytest.mark.parametrize(
    "question",
    [
        ANSWERABLE["500 characters once spaces are squeezed"],
        ANSWERABLE["code fence"],
        ANSWERABLE["@everyone"],
        ANSWERABLE["javascript link"],
        "--json",  # looks like an option; after `--` it is the question
    ],
    ids=["500", "code-fence", "everyone", "javascript", "option-like"],
)
def test_cli_answers_hostile_questions(cli: Workspace, question: str) -> None:
    before = index_state(cli.index)
    out = cli.run("ask", "--json", "--", question)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    answer = json.loads(out.stdout)
    assert answer["question"] and len(answer["question"]) <= 500
    assert index_state(cli.index) == before


def test_cli_question_with_undecodable_bytes(cli: Workspace) -> None:
    """argv bytes that are not UTF-8 arrive as lone surrogates; still a clean answer."""
    out = cli.run("ask", "--json", "queen bee eggs \udcff\udcfe")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["hits"][0]["title"] == "The life of honey bees"
