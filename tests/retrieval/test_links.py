"""Links to the quoted sentence: text fragments, encoded per the WICG spec."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from retrieval.engine import Engine
from retrieval.search.links import EDGE_WORDS, encode_term, text_fragment_link
from tests.factories import SAMPLE_ARTICLES

URL = "https://example.org/story"


def _directive(link: str | None) -> str:
    assert link is not None and link.startswith(URL + "#:~:text=")
    return link.removeprefix(URL + "#:~:text=")


def test_short_sentence_is_quoted_whole() -> None:
    link = text_fragment_link(URL, "The queen lays eggs.")
    assert _directive(link) == "The%20queen%20lays%20eggs."


@pytest.mark.parametrize(
    ("char", "encoded"), [("-", "%2D"), ("&", "%26"), (",", "%2C"), (" ", "%20"), ("#", "%23")]
)
def test_directive_syntax_characters_are_percent_encoded(char: str, encoded: str) -> None:
    term = encode_term(f"a{char}b")
    assert term == f"a{encoded}b"
    assert unquote(term) == f"a{char}b"


def test_dashes_ampersands_and_commas_never_reach_the_directive_raw() -> None:
    sentence = "Tolls rose, and Smith & Sons - a low-cost firm - paid."
    directive = _directive(text_fragment_link(URL, sentence))
    assert not set("-&, ") & set(directive)
    assert unquote(directive) == sentence


def test_long_sentence_uses_start_and_end_words() -> None:
    words = [f"w{n}" for n in range(30)]
    directive = _directive(text_fragment_link(URL, " ".join(words) + "."))
    start, end = directive.split(",")
    assert unquote(start) == " ".join(words[:EDGE_WORDS])
    assert unquote(end) == " ".join([*words[-EDGE_WORDS:-1], words[-1] + "."])


def test_a_few_long_words_never_overlap_start_and_end() -> None:
    words = ["x" * 40 + str(n) for n in range(5)]
    start, end = _directive(text_fragment_link(URL, " ".join(words))).split(",")
    assert unquote(start).split() == words[:2] and unquote(end).split() == words[-2:]


def test_whitespace_collapses_and_quotes_at_the_edges_are_dropped() -> None:
    link = text_fragment_link(URL, "“We will\n  stay,” she said.")
    assert unquote(_directive(link)) == "We will stay,” she said."


def test_an_existing_fragment_or_no_url_keeps_the_plain_url() -> None:
    assert text_fragment_link(URL + "#section-2", "The queen lays eggs.") == URL + "#section-2"
    assert text_fragment_link(None, "The queen lays eggs.") is None
    assert text_fragment_link(URL, "  “ ”  ") == URL


def test_hits_link_to_their_highlighted_sentence(engine: Engine) -> None:
    engine.add(SAMPLE_ARTICLES)
    result = engine.search("volcano magma eruption", k=3)
    by_id = {hit.article_id: hit for hit in result.hits}
    volcano = by_id["volcanoes"]
    assert volcano.url is not None
    assert volcano.link == text_fragment_link(volcano.url, volcano.highlight)
    assert volcano.link != volcano.url
    assert result.as_json()["hits"][0]["link"] == result.hits[0].link
    assert all(hit.link is None for hit in result.hits if hit.url is None)
