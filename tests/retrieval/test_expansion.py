"""Feedback reorders articles but never the passages quoted from them, nor how many."""

from __future__ import annotations

from collections import defaultdict

import pytest

from retrieval.embedding.hashing import HashingEmbedder
from retrieval.engine import Engine
from retrieval.search.expansion import reorder_articles
from retrieval.search.results import Hit
from retrieval.settings import RetrievalSettings
from tests.factories import make_article

# rows 0-2 belong to article A, 3 to B, 4 to C, 5 to D (D only found by feedback)
ARTICLE_OF = ["A", "A", "A", "B", "C", "D"]


def test_same_order_gives_the_same_list() -> None:
    ordered = [0, 1, 3, 2, 4]
    assert reorder_articles(ordered, ARTICLE_OF, ["A", "B", "C"], []) == ordered


def test_articles_swap_places_and_keep_the_layout() -> None:
    # The first pass gave A places 1, 2 and 4, B place 3 and C place 5.
    ordered = [0, 1, 3, 2, 4]
    assert reorder_articles(ordered, ARTICLE_OF, ["A", "C", "B"], []) == [0, 1, 4, 2, 3]
    # C first: its single passage takes A's first place; A moves to C's (last) place.
    assert reorder_articles(ordered, ARTICLE_OF, ["C", "B", "A"], []) == [4, 3, 0]


def test_an_article_only_feedback_found_takes_its_passages_in_score_order() -> None:
    ordered = [0, 3, 4]
    assert reorder_articles(ordered, ARTICLE_OF, ["A", "D", "B", "C"], [5, 0]) == [0, 5, 3]


@pytest.mark.parametrize(
    "new_order", [["A", "B", "C"], ["C", "A", "B"], ["B", "C", "A"], ["D", "C", "B", "A"]]
)
def test_passages_within_an_article_keep_their_order(new_order: list[str]) -> None:
    ordered = [1, 0, 3, 2, 4]
    result = reorder_articles(ordered, ARTICLE_OF, new_order, [5])
    assert len(result) == len(set(result))
    per_article: dict[str, list[int]] = defaultdict(list)
    for row in result:
        per_article[ARTICLE_OF[row]].append(row)
    assert per_article["A"] == [1, 0, 2][: len(per_article["A"])]


def _engine(settings: RetrievalSettings, feedback_docs: int) -> Engine:
    settings = settings.model_copy(update={"feedback_docs": feedback_docs, "top_k": 10})
    return Engine(settings, HashingEmbedder()).open()


def test_search_with_feedback_quotes_the_same_passages_of_each_article(
    settings: RetrievalSettings,
) -> None:
    hives = " ".join(
        f"Beekeepers inspect hive {i} for queens, brood, honey stores and varroa mites."
        for i in range(40)
    )
    articles = [
        make_article("hives", "Keeping bees", hives),
        make_article("mites", "Varroa mites", "Varroa mites weaken bee colonies. " * 12),
        make_article("honey", "Honey markets", "Honey prices rose as hive numbers fell. " * 12),
        make_article("trains", "Railways", "Trains run on rails between stations. " * 12),
    ]
    plain, expanded = _engine(settings, 0), _engine(settings, 1)
    plain.add(articles)
    expanded.reload_if_changed()
    question = "how do beekeepers check a hive for mites"
    before = plain.search(question, abstain=False)
    after = expanded.search(question, abstain=False)
    assert before.hits and after.hits
    assert len(after.hits) == len(before.hits)

    def passages(hits: list[Hit]) -> dict[str, list[int]]:
        found: dict[str, list[int]] = defaultdict(list)
        for hit in hits:
            found[hit.article_id].append(hit.chunk_id)
        return found

    # An article keeps its own passages in its own order (a prefix of them when it moved
    # to a place with fewer).
    for article, chunks in passages(after.hits).items():
        own = passages(before.hits).get(article)
        if own is not None:
            common = min(len(own), len(chunks))
            assert chunks[:common] == own[:common]
    # A hit's score is the question's own, whatever feedback did to the order.
    scores = {h.chunk_id: h.score for h in before.hits}
    for hit in after.hits:
        if hit.chunk_id in scores:
            assert hit.score == pytest.approx(scores[hit.chunk_id], abs=1e-6)
