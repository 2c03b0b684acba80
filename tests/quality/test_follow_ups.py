"""Follow-ups with the real model on the shipped articles: a question that points back is
answered from the conversation's topic, a full question is searched exactly as on its own."""

from __future__ import annotations

import pytest

from retrieval.embedding import Embedder
from retrieval.engine import Engine
from retrieval.loaders import load_folder
from retrieval.search.followup import FollowUpContext
from retrieval.search.results import SearchResult
from retrieval.settings import RetrievalSettings
from tests.factories import REPO

pytestmark = [pytest.mark.slow, pytest.mark.model]

KERRY = "What did Kerry want from the Moscow talks?"
KERRY_ARTICLE = "kerry-seeks-real-progress-on-syria"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Engine:
    settings = RetrievalSettings(
        _env_file=None,  # type: ignore[call-arg]
        index_dir=tmp_path_factory.mktemp("followups") / "index",
    )
    engine = Engine(settings, real_embedder).open()
    engine.sync(load_folder(REPO / "articles", max_bytes=10_000_000).articles, remove_missing=True)
    return engine


def after_kerry(engine: Engine) -> FollowUpContext:
    first = engine.search(KERRY)
    assert first.hits and first.hits[0].article_id == KERRY_ARTICLE
    return FollowUpContext(questions=(KERRY,), cited=(first.hits[0].article_id,))


def page(result: SearchResult) -> list[tuple[str, int]]:
    return [(hit.article_id, hit.chunk_id) for hit in result.hits]


@pytest.mark.parametrize("follow_up", ["When was that?", "What did they say about it?"])
def test_a_follow_up_is_answered_from_the_conversations_topic(
    engine: Engine, follow_up: str
) -> None:
    alone = engine.search(follow_up)
    assert alone.abstained  # nothing to search for on its own
    result = engine.search(follow_up, context=after_kerry(engine))
    assert not result.abstained and result.context_weight > 0
    assert result.hits[0].article_id == KERRY_ARTICLE
    assert result.question == follow_up  # the page is the follow-up's, not the earlier one's


@pytest.mark.parametrize(
    "question",
    ["What is the chemical symbol of oxygen?", "Who won Super Bowl 50?"],
)
def test_a_full_question_is_not_bent_by_the_context(engine: Engine, question: str) -> None:
    alone = engine.search(question)
    result = engine.search(question, context=after_kerry(engine))
    assert result.context_weight == 0
    assert page(result) == page(alone)
    assert [h.score for h in result.hits] == [h.score for h in alone.hits]


def test_no_context_is_todays_search(engine: Engine) -> None:
    empty = FollowUpContext(questions=())
    for question in (KERRY, "When was that?"):
        assert page(engine.search(question, context=None)) == page(engine.search(question))
        assert page(engine.search(question, context=empty)) == page(engine.search(question))
