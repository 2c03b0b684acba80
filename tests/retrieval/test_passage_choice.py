"""Which passage of an article is quoted first: the words naming the article's topic, found
in every passage and in its title, do not decide between its passages; the word found in
one passage does."""

from __future__ import annotations

import pytest

from retrieval.documents import Article
from retrieval.engine import Engine
from tests.factories import SAMPLE_ARTICLES

TOPIC = "the Northshire hospital trust"
PARAGRAPHS = [
    f"Two hospitals are to merge into {TOPIC}, the health board said on Monday. "
    f"{TOPIC.capitalize()} will run both sites from April. Staff at {TOPIC} were told first.",
    f"Patients will see little change at first, {TOPIC} said. Clinics stay where they are "
    f"while {TOPIC} reviews its buildings over the coming year.",
    f"Its new board meets {TOPIC} staff in March. The board will be chaired by Sir Anthony "
    "Devereux, a former chief executive. He starts in March.",
    f"Unions said they would watch {TOPIC} closely. A consultation on maternity services opens "
    f"in the summer, and {TOPIC} will publish its plans in the autumn.",
]


def test_the_passage_with_the_question_s_specific_word_is_quoted_first(engine: Engine) -> None:
    article = Article(
        id="merger",
        title="Hospitals merge into the Northshire hospital trust",
        text="\n\n".join(PARAGRAPHS),
    )
    engine.add([article, *SAMPLE_ARTICLES])
    assert len([c for c in engine.snapshot.chunks.article_ids if c == "merger"]) >= 3
    result = engine.search("Who is going to chair the Northshire hospital trust?")
    assert result.hits[0].article_id == "merger"
    assert "Devereux" in result.hits[0].excerpt


@pytest.mark.xfail(
    strict=True,
    reason="known miss: the bold sentence weighs the sentence cosine, which (hashing and real "
    "model alike) prefers the sentence naming the topic to the one naming the chair",
)
def test_the_sentence_naming_the_answer_is_bold(engine: Engine) -> None:
    article = Article(
        id="merger",
        title="Hospitals merge into the Northshire hospital trust",
        text="\n\n".join(PARAGRAPHS),
    )
    engine.add([article, *SAMPLE_ARTICLES])
    result = engine.search("Who is going to chair the Northshire hospital trust?")
    assert "Devereux" in result.hits[0].highlight
