"""Hostile questions through Discord (`!ask` and `/ask`): each is answered with citations or
refused in one line, nothing reaches an error handler, and no reply can ping anyone (the E2E
teardown checks every message the bot sent)."""

from __future__ import annotations

import pytest

from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from tests.e2e.desk import Desk

pytestmark = pytest.mark.timeout(90)

ANSWERED = [
    "@everyone @here what did Kerry want from the Moscow talks?",
    "<@&123456789012345678> <@987654321098765432> Kerry Moscow talks",
    "```py\nimport os; os.system('rm -rf /')\n``` Kerry Moscow",
    "[click me](javascript:alert(document.cookie)) Kerry Moscow talks",
    "**Kerry** __Moscow__ ~~talks~~ ||Putin|| > quote # heading",
    "\u202e\u200b Kerry Moscow talks \u2066",
]
REFUSED = {
    "🙂🔥🐝" * 20: "Ask a question with some words in it.",
    "?!… ¿¡ *** ```": "Ask a question with some words in it.",
    "Kerry " * 330: "Please keep questions under 500 characters.",  # NEWSDESK_MAX_QUESTION_CHARS
}


@pytest.mark.parametrize("question", ANSWERED)
async def test_hostile_questions_are_answered_without_pinging(desk: Desk, question: str) -> None:
    reply = await desk.say(desk.alice, f"!ask {question}")
    assert reply.embeds and "Kerry" in reply.embeds[0]["title"]
    handle = await desk.slash(desk.alice, "ask", {"question": question[:2000]})
    assert handle.followups[0].embeds
    assert desk.errors.seen == []


@pytest.mark.parametrize(
    ("question", "refusal"), list(REFUSED.items()), ids=["emoji", "punctuation", "too long"]
)
async def test_wordless_or_huge_questions_are_refused_in_one_line(
    desk: Desk, question: str, refusal: str
) -> None:
    reply = await desk.say(desk.alice, f"!ask {question}")
    assert reply.embeds == [] and reply.content.startswith(refusal)
    assert "\n" not in reply.content
    assert set(desk.errors.expected_types()) <= {EmptyQuestionError, QuestionTooLongError}
